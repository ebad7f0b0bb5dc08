// File: bidder/http/shed_signal.hpp
//
// Why a worker sheds a bid request (server.hpp, server_options: Overload). Its own header so the
// metrics can count by it without the server's Beast includes.
#pragma once

#include <cstdint>

namespace bidder::http {

/// `queued`: the request waited for its worker longer than shed_queued; `busy`: the worker's
/// thread was on a CPU more than shed_busy_share of a shed_window.
enum class shed_signal : std::uint8_t { queued, busy, count_ };

}  // namespace bidder::http
