// File: tests/fleet/fleet_process.hpp
//
// Helpers of the fleet tests (docs/fleet.md): a real redis-server on a unix socket and real
// `bidder serve --redis` processes on loopback, started by fork/exec and killed by pid.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bidder/fleet/redis_client.hpp"
#include "tests/integration/http_client.hpp"

namespace bidder::test::fleet_process {

namespace fs = std::filesystem;
using bidder::fleet::redis_client;
using bidder::fleet::redis_value;
using steady = std::chrono::steady_clock;

constexpr const char* redis_binary = "/usr/bin/redis-server";

inline pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  dup2(fd, STDOUT_FILENO);
  dup2(fd, STDERR_FILENO);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  _exit(127);
}

inline void kill_and_wait(pid_t& pid, int signal) {
  if (pid <= 0) return;
  kill(pid, signal);
  int status = 0;
  waitpid(pid, &status, 0);
  pid = -1;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Polls `done` until it holds or `limit` passes.
template <class Done>
inline bool poll_until(Done&& done, std::chrono::milliseconds limit) {
  const auto until = steady::now() + limit;
  while (steady::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the poll interval
  }
  return done();
}

struct redis_server {
  fs::path dir, socket;
  pid_t pid = -1;
  explicit redis_server(const fs::path& d) : dir(d), socket(d / "redis.sock") {}
  ~redis_server() { kill_and_wait(pid, SIGKILL); }
  // Appends every write to its file (the OS's cache) before answering, so a SIGKILL of the
  // process loses nothing (a crash of the machine would lose up to a second).
  void start() {
    pid = spawn({redis_binary, "--port", "0", "--unixsocket", socket.string(), "--dir",
                 dir.string(), "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""},
                dir / "redis.log");
    REQUIRE(poll_until([&] { return value("ping-check") >= 0; }, std::chrono::seconds(5)));
  }
  /// The integer at `key` (0 when absent), or -1 when Redis does not answer.
  long long value(const std::string& key) {
    redis_client client({.host = {}, .port = 0, .unix_path = socket.string()},
                        std::chrono::milliseconds(200));
    auto r = client.pipeline({{"GET", key}});
    if (!r) return -1;
    const redis_value& v = r->front();
    return v.kind == redis_value::type::string ? std::stoll(v.text) : 0;
  }
};

struct bidder_process {
  pid_t pid = -1;
  std::uint16_t bid_port = 0, admin_port = 0;
  fs::path log;
  std::unique_ptr<http_client> connection;  // keep-alive, to the bid port
  std::set<std::string> noticed;            // the bids whose win notice it accepted
  http_reply send(const http_call& call) {
    if (!connection) connection = std::make_unique<http_client>(bid_port);
    return connection->send(call);
  }
  ~bidder_process() { kill_and_wait(pid, SIGKILL); }
};

inline void start_bidder(bidder_process& b, const fs::path& dir, const std::string& config,
                         const fs::path& socket, const std::vector<std::string>& fleet_flags) {
  b.log = dir / "bidder.log";
  std::vector<std::string> args{BIDDER_BINARY,      "serve",
                                "--config",         config,
                                "--listen",         "127.0.0.1:0",
                                "--admin-listen",   "127.0.0.1:0",
                                "--data-dir",       (dir / "data").string(),
                                "--threads",        "1",
                                "--shed-queued-ms", "0",
                                "--shed-busy",      "0",
                                "--redis",          "unix:" + socket.string()};
  args.insert(args.end(), fleet_flags.begin(), fleet_flags.end());
  b.pid = spawn(args, b.log);
  std::string out;
  const bool ready = poll_until(
      [&] {
        out = read_file(b.log);
        return out.find("ready (SIGHUP") != std::string::npos;
      },
      std::chrono::seconds(10));
  INFO(out);
  REQUIRE(ready);
  auto port_after = [&](const std::string& prefix) {
    const auto at = out.find(prefix);
    REQUIRE(at != std::string::npos);
    return static_cast<std::uint16_t>(std::stoi(out.substr(at + prefix.size())));
  };
  b.bid_port = port_after("POST http://127.0.0.1:");
  b.admin_port = port_after("admin endpoint http://127.0.0.1:");
}

inline http_reply get(std::uint16_t port, const std::string& target) {
  http_client client(port);
  http_call call;
  call.method = "GET";
  call.target = target;
  return client.send(call);
}

inline double metric(std::uint16_t admin, const std::string& name) {
  const std::string text = get(admin, "/metrics").body;
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

inline bool redis_missing() {
  if (access(redis_binary, X_OK) == 0) return false;
  std::cout << "BIDDER-TEST-SKIPPED: " << redis_binary << " is not installed (apt install "
            << "redis-server)\n";
  return true;
}

}  // namespace bidder::test::fleet_process
