// File: tests/stream/mock_kafka.hpp
//
// librdkafka's mock cluster (rdkafka_mock.h: brokers on loopback in this process) and a
// consumer that reads a whole topic back, for the event stream's tests.
//
//   mock_kafka kafka(3);                 // a topic "events" with 3 partitions
//   forwarder_options o{.brokers = kafka.bootstraps(), .topic = "events", ...};
//   kafka.set_down(true);  ...  kafka.set_down(false);
//   std::vector<consumed> all = kafka.read_all();
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace stream_test {

struct consumed {
  std::string id;      // the message key
  std::string header;  // the "event_id" header
  std::string value;
  std::int32_t partition = 0;
};

class mock_kafka {
 public:
  explicit mock_kafka(int partitions, std::string topic = "events") : topic_(std::move(topic)) {
    char reason[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
    if (handle_ == nullptr) throw std::runtime_error(reason);
    cluster_ = rd_kafka_mock_cluster_new(handle_, 1);
    if (cluster_ == nullptr) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    partitions_ = partitions;
    if (rd_kafka_mock_topic_create(cluster_, topic_.c_str(), partitions, 1) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error("rd_kafka_mock_topic_create failed");
    }
  }
  ~mock_kafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  mock_kafka(const mock_kafka&) = delete;
  mock_kafka& operator=(const mock_kafka&) = delete;

  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  const std::string& topic() const { return topic_; }

  /// Takes the (only) broker down: connections closed, new ones refused; or back up.
  void set_down(bool down) {
    const auto err = down ? rd_kafka_mock_broker_set_down(cluster_, 1)
                          : rd_kafka_mock_broker_set_up(cluster_, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw std::runtime_error("mock broker set down/up");
  }

  /// Every message of the topic, partition by partition, each in its partition's order.
  std::vector<consumed> read_all() const {
    char reason[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
    auto set = [&](const char* k, const std::string& v) {
      if (rd_kafka_conf_set(conf, k, v.c_str(), reason, sizeof reason) != RD_KAFKA_CONF_OK) {
        throw std::runtime_error(reason);
      }
    };
    set("bootstrap.servers", bootstraps());
    set("group.id", "stream-test-reader");
    set("enable.partition.eof", "true");
    set("enable.auto.commit", "false");
    rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof reason);
    if (consumer == nullptr) throw std::runtime_error(reason);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions_);
    for (int p = 0; p < partitions_; ++p) {
      rd_kafka_topic_partition_list_add(list, topic_.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<consumed> out;
    std::vector<bool> at_end(static_cast<std::size_t>(partitions_), false);
    int ends = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (ends < partitions_ && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (!at_end[static_cast<std::size_t>(m->partition)]) {
          at_end[static_cast<std::size_t>(m->partition)] = true;
          ++ends;
        }
      } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        consumed c;
        c.id.assign(static_cast<const char*>(m->key), m->key_len);
        c.value.assign(static_cast<const char*>(m->payload), m->len);
        c.partition = m->partition;
        rd_kafka_headers_t* headers = nullptr;
        const void* value = nullptr;
        std::size_t size = 0;
        if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(headers, "event_id", &value, &size) ==
                RD_KAFKA_RESP_ERR_NO_ERROR) {
          c.header.assign(static_cast<const char*>(value), size);
        }
        out.push_back(std::move(c));
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    if (ends < partitions_) throw std::runtime_error("read_all: the topic did not reach its end");
    return out;
  }

 private:
  std::string topic_;
  int partitions_ = 1;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace stream_test
