// File: tests/bench/json_file.hpp
//
// Reads and writes the JSON files bidbench and the bench scripts exchange (--json reports).
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bidder::bench::test {

inline boost::json::object read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

inline void write_json(const std::filesystem::path& path, const boost::json::object& doc) {
  std::ofstream(path) << boost::json::serialize(doc);
}

}  // namespace bidder::bench::test
