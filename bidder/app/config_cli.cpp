#include "bidder/app/config_cli.hpp"

#include <cstdlib>
#include <iostream>
#include <string>

#include "bidder/app/admin_client.hpp"
#include "bidder/core/atomic_file.hpp"

namespace bidder::app {
namespace {

constexpr std::string_view usage = R"(usage:
  bidder config export [--admin URL] [--token TOKEN] [--out FILE]
      Writes the running bidder's current campaign revision as a config file (docs/console.md).
      --admin defaults to http://127.0.0.1:8081; --token to $BIDDER_ADMIN_TOKEN; --out to stdout.
)";

int fail(std::string_view message) {
  std::cerr << "bidder config: " << message << "\n\n" << usage;
  return 2;
}

}  // namespace

int run_config_cli(const std::vector<std::string_view>& args) {
  if (args.empty() || args[0] != "export") return fail("say `bidder config export`");
  admin_target target;
  if (const char* token = std::getenv("BIDDER_ADMIN_TOKEN")) target.token = token;
  std::string out;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (i + 1 >= args.size()) return fail(std::string(arg) + " needs a value");
    const std::string_view value = args[++i];
    if (arg == "--admin") {
      auto parsed = parse_admin_url(value);
      if (!parsed) return fail(parsed.error().message);
      parsed->token = target.token;
      target = *parsed;
    } else if (arg == "--token") {
      target.token = value;
    } else if (arg == "--out") {
      out = value;
    } else {
      return fail("unknown option " + std::string(arg));
    }
  }
  auto reply = admin_call(target, "GET", "/admin/config/export", "");
  if (!reply) {
    std::cerr << "bidder config: " << reply.error().message << "\n";
    return 1;
  }
  if (reply->status != 200) {
    std::cerr << "bidder config: export answered " << reply->status << ": " << reply->body << "\n";
    return 1;
  }
  if (out.empty()) {
    std::cout << reply->body;
    return 0;
  }
  // Beside the target, synced, then renamed: an interrupted export never leaves half a file.
  if (auto written = replace_file_atomically(out, reply->body); !written) {
    std::cerr << "bidder config: " << written.error().message << "\n";
    return 1;
  }
  std::cerr << "bidder config: wrote " << out << "\n";
  return 0;
}

}  // namespace bidder::app
