// GET /readyz on the admin port (docs/deploy.md): 200 while the service should get traffic,
// 503 with the reason once it drains, while GET /healthz stays 200 ("the process is alive").
// Through the real HTTP path: the service in-process, and the bidder binary on SIGTERM.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "bidder/app/service.hpp"
#include "tests/integration/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using bidder::test::http_call;
using bidder::test::http_client;
using bidder::test::http_reply;

constexpr std::string_view bid_request =
    R"({"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]})";

http_reply get(std::uint16_t port, const std::string& target) {
  http_client client(port);
  http_call call;
  call.method = "GET";
  call.target = target;
  return client.send(call);
}

std::unique_ptr<bidder::app::service> start(const std::filesystem::path& data,
                                            const std::string& token = "") {
  bidder::app::serve_options options;
  options.listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  options.data_dir = data.string();
  options.threads = 1;
  options.shed_busy_share = 0;  // a busy test machine must not turn the bid into a shed 204
  options.shed_queued = std::chrono::microseconds(0);
  options.admin_token = token;
  std::ostringstream log;
  auto started = bidder::app::service::start(options, log);
  if (!started) FAIL("service did not start: " << started.error().message);
  return std::move(*started);
}

}  // namespace

TEST_CASE("/readyz is 200 once started and 503 draining after begin_drain, /healthz stays 200",
          "[integration][readiness]") {
  bidder::test::temp_dir dir("bidder-readyz");
  auto svc = start(dir.path / "data");

  const http_reply ready = get(svc->admin_port(), "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready\n");

  svc->begin_drain();
  const http_reply draining = get(svc->admin_port(), "/readyz");
  CHECK(draining.status == 503);
  CHECK_THAT(draining.body, Catch::StartsWith("not ready: draining"));
  CHECK(get(svc->admin_port(), "/healthz").status == 200);
  // Draining is a signal to load balancers: the bid port keeps answering until stop().
  CHECK(bidder::test::post(svc->bid_port(), "/bid", std::string(bid_request)).status == 200);

  http_call post;
  post.method = "POST";
  post.target = "/readyz";
  CHECK(http_client(svc->admin_port()).send(post).status == 405);
  svc->stop(std::chrono::seconds(5));
}

TEST_CASE("/readyz, like /healthz, needs no admin token, /metrics does",
          "[integration][readiness]") {
  bidder::test::temp_dir dir("bidder-readyz");
  auto svc = start(dir.path / "data", "s3cret-token");
  CHECK(get(svc->admin_port(), "/readyz").status == 200);
  CHECK(get(svc->admin_port(), "/healthz").status == 200);
  CHECK(get(svc->admin_port(), "/metrics").status == 401);
}

TEST_CASE(
    "the bidder binary is not ready from SIGTERM on, serves through --drain-delay-ms, and "
    "a second SIGTERM ends the wait",
    "[integration][readiness][process]") {
  bidder::test::temp_dir dir("bidder-readyz");
  const std::string data = (dir.path / "data").string();
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    // A delay far longer than the test: only the second SIGTERM can end it in time.
    execl(BIDDER_BINARY, BIDDER_BINARY, "serve", "--listen", "127.0.0.1:0", "--admin-listen",
          "127.0.0.1:0", "--data-dir", data.c_str(), "--threads", "1", "--shed-queued-ms", "0",
          "--shed-busy", "0", "--drain-delay-ms", "600000", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipe_fds[1]);
  // Blocking reads of the child's stderr up to each line it prints: no sleeps, no polling.
  std::string output;
  auto read_until = [&](std::string_view marker) {
    char chunk[512];
    while (output.find(marker) == std::string::npos) {
      const ssize_t n = read(pipe_fds[0], chunk, sizeof chunk);
      if (n <= 0) return false;
      output.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  };
  auto port_after = [&](std::string_view prefix) {
    const auto at = output.find(prefix);
    REQUIRE(at != std::string::npos);
    return static_cast<std::uint16_t>(std::stoi(output.substr(at + prefix.size())));
  };
  REQUIRE(read_until("ready (SIGHUP"));
  const std::uint16_t bid_port = port_after("POST http://127.0.0.1:");
  const std::uint16_t admin_port = port_after("admin endpoint http://127.0.0.1:");
  CHECK(get(admin_port, "/readyz").status == 200);

  REQUIRE(kill(pid, SIGTERM) == 0);
  REQUIRE(read_until("before closing the ports"));  // printed after begin_drain
  INFO("stderr: " << output);
  const http_reply draining = get(admin_port, "/readyz");
  CHECK(draining.status == 503);
  CHECK_THAT(draining.body, Catch::Contains("draining"));
  CHECK(get(admin_port, "/healthz").status == 200);
  CHECK(bidder::test::post(bid_port, "/bid", std::string(bid_request)).status == 200);

  const auto signalled = std::chrono::steady_clock::now();
  REQUIRE(kill(pid, SIGTERM) == 0);
  CHECK_FALSE(read_until("\x01never printed"));  // to the end of stderr: the child exited
  close(pipe_fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(std::chrono::steady_clock::now() - signalled < std::chrono::seconds(30));
  CHECK_THAT(output, Catch::Contains("bidder: stopped"));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
