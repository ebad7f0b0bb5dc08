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
// Boost 1.81's epoll reactor defines. With Asio's io_uring backend (BIDDER_IO_URING, the
// build's default where the kernel allows it: docs/performance.md) the same read is an
// io_uring operation instead: a recvmsg submitted to the ring, its receive time in the same
// control message. Other backends fail to compile here rather than misbehave. Included by
// bid_session.hpp only (server.cpp).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <boost/asio/basic_socket.hpp>
#include <boost/asio/ip/tcp.hpp>
#ifdef BOOST_ASIO_HAS_IO_URING_AS_DEFAULT
#include <liburing.h>

#include <boost/asio/detail/io_uring_operation.hpp>
#include <boost/asio/detail/io_uring_service.hpp>
#else
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#endif
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <span>

namespace bidder::http::detail {

#if !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) && !defined(BOOST_ASIO_HAS_EPOLL)
#error "stamped_read_op needs Asio's epoll reactor or its io_uring backend"
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

// How long the bytes `msg` received waited since the kernel stamped their arrival
// (SCM_TIMESTAMPNS); zero without the control message or with a wall clock that stepped.
inline std::chrono::nanoseconds waited_since_received(msghdr& msg) noexcept {
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
      return waited;
    }
  }
  return std::chrono::nanoseconds::zero();
}

// What both forms of the read keep, and the steps they share.
template <class Owner>
struct read_state {
  int fd = -1;
  iovec iov{};
  std::chrono::nanoseconds queued{0};
  std::shared_ptr<Owner> owner;

  void begin(boost::asio::ip::tcp::socket& socket, std::shared_ptr<Owner> reader,
             boost::asio::mutable_buffer into) {
    fd = socket.native_handle();
    iov = {into.data(), into.size()};
    queued = std::chrono::nanoseconds::zero();
    owner = std::move(reader);
  }
  // A message that reads into `iov`, with `control` for the kernel's receive time stamp.
  msghdr message(std::span<char> control) noexcept {
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    return msg;
  }
  // One recvmsg that does not wait: bytes read, 0 at the end of the stream, -1 with errno.
  ssize_t read_now(msghdr& msg) const noexcept {
    ssize_t n = 0;
    do {
      n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n;
  }
  // Gives the finished read to its owner. `io_destroyed`: the io_context went away with the
  // read pending, so only let go. The owner may own this state: nothing touches it after.
  void hand_over(bool io_destroyed, const boost::system::error_code& ec, std::size_t bytes) {
    std::shared_ptr<Owner> session = std::move(owner);
    if (io_destroyed) return;
    session->on_stamped_read(ec, bytes, queued);
  }
};
}  // namespace stamped_read_access

#ifdef BOOST_ASIO_HAS_IO_URING_AS_DEFAULT

/// Owner: as below. The read is a recvmsg submitted to the ring (no system call of its own:
/// the ring's next submission carries it), completed when bytes arrive.
template <class Owner>
class stamped_read_op final : public boost::asio::detail::io_uring_operation {
 public:
  explicit stamped_read_op(boost::asio::io_context& io)
      : io_uring_operation(boost::system::error_code(), &prepare, &perform, &complete),
        service_(&boost::asio::use_service<boost::asio::detail::io_uring_service>(
            static_cast<boost::asio::execution_context&>(io))) {}
  stamped_read_op(const stamped_read_op&) = delete;
  stamped_read_op& operator=(const stamped_read_op&) = delete;

  /// Reads into `into` once bytes are there; calls owner->on_stamped_read from the io_context
  /// (never inline). One read at a time.
  void start(boost::asio::ip::tcp::socket& socket, std::shared_ptr<Owner> owner,
             boost::asio::mutable_buffer into) {
    auto& impl = stamped_read_access::implementation_of(socket);
    read_.begin(socket, std::move(owner), into);
    ec_ = {};
    bytes_transferred_ = 0;
    poll_first_ = false;
    service_->start_op(boost::asio::detail::io_uring_service::read_op, impl.io_object_data_, this,
                       /*is_continuation=*/true);
  }

 private:
  void reset_message() noexcept { msg_ = read_.message(control_); }

  static void prepare(io_uring_operation* base, ::io_uring_sqe* sqe) {
    auto* self = static_cast<stamped_read_op*>(base);
    if (self->poll_first_) {
      ::io_uring_prep_poll_add(sqe, self->read_.fd, POLLIN);
    } else {
      self->reset_message();
      ::io_uring_prep_recvmsg(sqe, self->read_.fd, &self->msg_, 0);
    }
  }

  // after_completion false: the speculative try before submitting, declined (the ring reads).
  static bool perform(io_uring_operation* base, bool after_completion) {
    auto* self = static_cast<stamped_read_op*>(base);
    if (!after_completion) return false;
    if (self->poll_first_) {
      // The socket is readable: read it now, without waiting.
      self->reset_message();
      const ssize_t n = self->read_.read_now(self->msg_);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;  // poll again
      self->ec_ = n < 0 ? boost::system::error_code(errno, boost::system::system_category())
                        : boost::system::error_code();
      self->bytes_transferred_ = n < 0 ? 0 : static_cast<std::size_t>(n);
    } else if (self->ec_ == boost::asio::error::would_block ||
               self->ec_ == boost::asio::error::try_again) {
      // A kernel that answers a non-blocking socket's ring read with EAGAIN rather than
      // waiting: wait for readability on the ring, then read (above).
      self->ec_ = {};
      self->poll_first_ = true;
      return false;
    }
    if (self->ec_) return true;
    if (self->bytes_transferred_ == 0) {
      self->ec_ = boost::asio::error::eof;
      return true;
    }
    self->read_.queued = stamped_read_access::waited_since_received(self->msg_);
    return true;
  }

  // `owner` is null when the io_context is destroyed with the read pending.
  static void complete(void* owner, boost::asio::detail::operation* base,
                       const boost::system::error_code&, std::size_t) {
    auto* self = static_cast<stamped_read_op*>(base);
    self->read_.hand_over(owner == nullptr, self->ec_, self->bytes_transferred_);
  }

  boost::asio::detail::io_uring_service* service_;
  stamped_read_access::read_state<Owner> read_;
  msghdr msg_{};
  alignas(cmsghdr) char control_[CMSG_SPACE(sizeof(timespec))];
  bool poll_first_ = false;
};

#else  // Asio's epoll reactor

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
    read_.begin(socket, std::move(owner), into);
    ec_ = {};
    bytes_transferred_ = 0;
    reactor_->start_op(boost::asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_,
                       this, /*is_continuation=*/true, /*allow_speculative=*/true);
  }

 private:
  static status perform_read(reactor_op* base) {
    auto* self = static_cast<stamped_read_op*>(base);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr msg = self->read_.message(control);
    const ssize_t n = self->read_.read_now(msg);
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
    self->read_.queued = stamped_read_access::waited_since_received(msg);
    // Less than asked: the socket is drained, and Asio waits for its next edge before trying.
    return static_cast<std::size_t>(n) < self->read_.iov.iov_len ? done_and_exhausted : done;
  }

  // `owner` is null when the io_context is destroyed with the read pending.
  static void complete(void* owner, boost::asio::detail::operation* base,
                       const boost::system::error_code&, std::size_t) {
    auto* self = static_cast<stamped_read_op*>(base);
    self->read_.hand_over(owner == nullptr, self->ec_, self->bytes_transferred_);
  }

  boost::asio::detail::reactor* reactor_;
  stamped_read_access::read_state<Owner> read_;
};

#endif  // BOOST_ASIO_HAS_IO_URING_AS_DEFAULT

}  // namespace bidder::http::detail
