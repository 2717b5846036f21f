#include <gtest/gtest.h>

#include <thread>

#include "registry_redirector/telemetry/request_metrics.hpp"
#include "registry_redirector/routing/snapshot_store.hpp"

namespace registry_redirector {
namespace {

const prometheus::MetricFamily& family(const std::vector<prometheus::MetricFamily>& all, const std::string& name) {
    for (const auto& f : all)
        if (f.name == name) return f;
    throw std::runtime_error("no family " + name);
}

double counter(const prometheus::MetricFamily& f, std::vector<prometheus::ClientMetric::Label> labels) {
    for (const auto& m : f.metric)
        if (m.label == labels) return m.counter.value;
    throw std::runtime_error("no series");
}

TEST(RequestMetricsTest, FoldsPerThreadCountersAtScrape) {
    request_metrics metrics(2);
    const auto amazon = metrics.slot_for("amazon");
    const auto google = metrics.slot_for("google");
    EXPECT_EQ(metrics.slot_for("amazon"), amazon);  // stable across reloads
    std::thread a([&] {
        for (int i = 0; i < 1000; ++i) metrics.thread(0).count_redirect(amazon, route::registry);
    });
    std::thread b([&] {
        for (int i = 0; i < 500; ++i) metrics.thread(1).count_redirect(amazon, route::registry);
        metrics.thread(1).count_rejected(status_code::method_not_allowed_405);
        metrics.thread(1).count_source(client_ip_source::invalid_header);
    });
    a.join();
    b.join();
    const auto all = metrics.Collect();
    const auto& requests = family(all, "registry_redirector_requests_total");
    EXPECT_EQ(counter(requests, {{"code", "302"}, {"provider", "amazon"}, {"route", "registry"}}), 1500);
    EXPECT_EQ(counter(requests, {{"code", "302"}, {"provider", "google"}, {"route", "artifacts"}}), 0);  // pre-created
    EXPECT_EQ(counter(requests, {{"code", "405"}, {"provider", "none"}, {"route", "rejected"}}), 1);
    EXPECT_EQ(counter(family(all, "registry_redirector_client_ip_total"), {{"source", "invalid_header"}}), 1);
    (void)google;
}

TEST(RequestMetricsTest, HistogramBucketsAreCumulative) {
    request_metrics metrics(1);
    metrics.thread(0).observe_duration(std::chrono::microseconds(30));
    metrics.thread(0).observe_duration(std::chrono::microseconds(700), 2);
    metrics.thread(0).observe_duration(std::chrono::seconds(3));
    const auto all = metrics.Collect();
    const auto& h = family(all, "registry_redirector_request_duration_seconds").metric.at(0).histogram;
    EXPECT_EQ(h.sample_count, 4u);
    EXPECT_EQ(h.bucket.front().cumulative_count, 1u);  // le=0.00005
    EXPECT_EQ(h.bucket.at(4).cumulative_count, 3u);    // le=0.001
    EXPECT_EQ(h.bucket.at(h.bucket.size() - 2).cumulative_count, 3u);  // le=1
    EXPECT_EQ(h.bucket.back().cumulative_count, 4u);   // +Inf
    EXPECT_NEAR(h.sample_sum, 3.00143, 1e-6);
}

TEST(SnapshotStoreTest, ReadersSeeEachPublishOnce) {
    snapshot_store<int> store;
    snapshot_store<int>::reader reader(store);
    EXPECT_EQ(reader.get(), nullptr);
    store.publish(std::make_shared<const int>(1));
    const int* first = reader.get();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(*first, 1);
    EXPECT_EQ(reader.get(), first);  // no reload: the same snapshot
    store.publish(std::make_shared<const int>(2));
    EXPECT_EQ(*reader.get(), 2);
    EXPECT_EQ(store.generation(), 2u);
}

}  // namespace
}  // namespace registry_redirector
