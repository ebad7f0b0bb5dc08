// File: bidder/http/detail/stamped_read_op.hpp
//
// The bid path's read: one recvmsg (with the kernel's receive time, SO_TIMESTAMPNS) run as an
// Asio reactor operation, so Asio's epoll reactor treats it as it treats its own reads:
// - tried at once when the socket may hold bytes (speculative), queued only when it returns
//   EAGAIN;
// - a read that filled less than its buffer drained the socket ("exhausted"): the next one is
//   queued without a system call until the socket's edge-triggered registration reports bytes.
// A wait for readability (socket::async_wait), which this replaces, cannot be speculative:
// Asio re-arms the descriptor with epoll_ctl(EPOLL_CTL_MOD) for every wait, a system call per
// request (docs/performance.md: System calls per request).
//
// It reaches into asio::detail (the socket's reactor registration and reactor_op), which
// Boost 1.81's epoll reactor defines; other backends (io_uring as default) fail to compile
// here rather than misbehave. Included by bid_session.hpp only (server.cpp).
#pragma once

#include <sys/socket.h>
#include <time.h>

#include <boost/asio/basic_socket.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace bidder::http::detail {

#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) || !defined(BOOST_ASIO_HAS_EPOLL)
#error "stamped_read_op needs Asio's epoll reactor"
#endif

namespace stamped_read_access {
using socket_base_type =
    boost::asio::basic_socket<boost::asio::ip::tcp, boost::asio::any_io_executor>;
// The socket's implementation (descriptor and reactor registration) is a protected member;
// naming it in an explicit instantiation is the one access the language allows.
template <auto Member>
struct grant {
  friend auto& implementation_of(socket_base_type& s) { return (s.*Member).get_implementation(); }
};
auto& implementation_of(socket_base_type& s);
template struct grant<&socket_base_type::impl_>;
}  // namespace stamped_read_access

/// Owner: a session with `void on_stamped_read(boost::system::error_code, std::size_t,
/// std::chrono::nanoseconds queued)`, held by shared_ptr while a read is pending.
template <class Owner>
class stamped_read_op final : public boost::asio::detail::reactor_op {
 public:
  explicit stamped_read_op(boost::asio::io_context& io)
      : reactor_op(boost::system::error_code(), &perform_read, &complete),
        reactor_(&boost::asio::use_service<boost::asio::detail::reactor>(
            static_cast<boost::asio::execution_context&>(io))) {}
  stamped_read_op(const stamped_read_op&) = delete;
  stamped_read_op& operator=(const stamped_read_op&) = delete;

  /// Reads into `into` once bytes are there; calls owner->on_stamped_read from the io_context
  /// (never inline). One read at a time.
  void start(boost::asio::ip::tcp::socket& socket, std::shared_ptr<Owner> owner,
             boost::asio::mutable_buffer into) {
    auto& impl = stamped_read_access::implementation_of(socket);
    fd_ = socket.native_handle();
    iov_ = {into.data(), into.size()};
    ec_ = {};
    bytes_transferred_ = 0;
    queued_ = std::chrono::nanoseconds::zero();
    owner_ = std::move(owner);
    reactor_->start_op(boost::asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_,
                       this, /*is_continuation=*/true, /*allow_speculative=*/true);
  }

 private:
  static status perform_read(reactor_op* base) {
    auto* self = static_cast<stamped_read_op*>(base);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr msg{};
    msg.msg_iov = &self->iov_;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = 0;
    do {
      n = ::recvmsg(self->fd_, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      self->ec_ = boost::system::error_code(errno, boost::system::system_category());
      return done;
    }
    if (n == 0) {
      self->ec_ = boost::asio::error::eof;
      return done;
    }
    self->bytes_transferred_ = static_cast<std::size_t>(n);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
      timespec received{};
      std::memcpy(&received, CMSG_DATA(c), sizeof received);
      timespec now{};
      ::clock_gettime(CLOCK_REALTIME, &now);
      const auto waited = std::chrono::seconds(now.tv_sec - received.tv_sec) +
                          std::chrono::nanoseconds(now.tv_nsec - received.tv_nsec);
      // A wall clock stepped back (or far forward) between the two readings: no figure.
      if (waited > std::chrono::nanoseconds::zero() && waited < std::chrono::seconds(10)) {
        self->queued_ = waited;
      }
    }
    // Less than asked: the socket is drained, and Asio waits for its next edge before trying.
    return static_cast<std::size_t>(n) < self->iov_.iov_len ? done_and_exhausted : done;
  }

  // `owner` is null when the io_context is destroyed with the read pending: only let go.
  static void complete(void* owner, boost::asio::detail::operation* base,
                       const boost::system::error_code&, std::size_t) {
    auto* self = static_cast<stamped_read_op*>(base);
    std::shared_ptr<Owner> session = std::move(self->owner_);  // may own *self: nothing after
    if (owner == nullptr) return;
    session->on_stamped_read(self->ec_, self->bytes_transferred_, self->queued_);
  }

  boost::asio::detail::reactor* reactor_;
  int fd_ = -1;
  iovec iov_{};
  std::chrono::nanoseconds queued_{0};
  std::shared_ptr<Owner> owner_;
};

}  // namespace bidder::http::detail
