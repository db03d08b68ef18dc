// The Vulkan runtime: device selection, buffers, memory cap, dispatch checks.
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "gpu_fixture.hpp"
#include "sinkstream/error.hpp"
#include "vk/commands.hpp"
#include "vk/context.hpp"

namespace sinkstream::test {

TEST_SUITE("vk") {
  TEST_CASE("devices are listed with the properties kernels rely on") {
    const auto devices = vk::list_devices();
    REQUIRE(!devices.empty());
    for (const auto& d : devices) {
      CHECK(!d.name.empty());
      CHECK(d.subgroup_size >= 1);
      CHECK(d.max_shared_bytes >= 16384);
      CHECK(d.max_workgroup_invocations >= 128);
    }
  }

  TEST_CASE("device selection by index and name, and clear errors for bad ones") {
    const auto devices = vk::list_devices();
    vk::ContextOptions by_index;
    by_index.device = std::to_string(devices[0].index);
    CHECK(vk::Context(by_index).info().name == devices[0].name);
    vk::ContextOptions by_name;
    by_name.device = devices[0].name.substr(0, 3);
    CHECK_NOTHROW(vk::Context{by_name});
    vk::ContextOptions bad;
    bad.device = "99";
    CHECK_THROWS_AS(vk::Context{bad}, NoDeviceError);
    bad.device = "no-such-gpu-anywhere";
    CHECK_THROWS_WITH_AS(vk::Context{bad}, doctest::Contains("no Vulkan device name contains"),
                         NoDeviceError);
  }

  TEST_CASE("validation messages are captured (so a clean suite means something)") {
    auto& ctx = gpu().context();
    if (!ctx.validation_enabled()) {  // SINKSTREAM_TEST_VALIDATION=0 on a machine without the layer
      MESSAGE("SKIPPED: validation is off (SINKSTREAM_TEST_VALIDATION=0)");
      return;
    }
    ctx.take_validation_messages();
    VkBufferCreateInfo bad{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bad.size = 64;
    bad.usage = 0;  // invalid: usage must not be 0
    VkBuffer buf = VK_NULL_HANDLE;
    const VkResult r = vkCreateBuffer(ctx.device(), &bad, nullptr, &buf);
    if (r == VK_SUCCESS) vkDestroyBuffer(ctx.device(), buf, nullptr);
    const auto messages = ctx.take_validation_messages();
    REQUIRE(!messages.empty());
    CHECK(messages[0].find("usage") != std::string::npos);
  }

  TEST_CASE("byte sizes parse with suffixes and reject junk") {
    CHECK(vk::parse_byte_size("4096") == 4096);
    CHECK(vk::parse_byte_size("64K") == 65536);
    CHECK(vk::parse_byte_size("3m") == 3u << 20);
    CHECK(vk::parse_byte_size("2G") == 2ull << 30);
    CHECK_THROWS_AS(vk::parse_byte_size("-5"), InvalidArgument);
    CHECK_THROWS_AS(vk::parse_byte_size("12Q"), InvalidArgument);
    CHECK_THROWS_AS(vk::parse_byte_size(""), InvalidArgument);
    CHECK_THROWS_AS(vk::parse_byte_size("99999999999999999999"), InvalidArgument);
  }

  TEST_CASE("a binding set past its pool's sets or buffers fails on every device, naming the kernel") {
    ValidationScope validation;
    auto& ctx = gpu().context();
    const auto& kernel = ctx.kernel({"copy", 2, 16, {256, 1, 1}, {}});
    auto a = ctx.create_buffer(256, vk::MemoryUse::device, "a"), b = ctx.create_buffer(256, vk::MemoryUse::device, "b");
    const vk::GpuBuffer* bufs[] = {&a, &b};
    const auto live = vk::live_objects()[4];  // descriptor pools
    {
      auto pool = ctx.create_descriptor_pool(2, 3);  // room for one set of two buffers, not two
      CHECK(vk::live_objects()[4] == live + 1);
      CHECK_NOTHROW(ctx.bind(pool.get(), kernel, bufs));
      CHECK_THROWS_WITH_AS(ctx.bind(pool.get(), kernel, bufs),
                           doctest::Contains("descriptor pool sized too small for copy"), Error);
      auto one = ctx.create_descriptor_pool(1, 8);
      CHECK_NOTHROW(ctx.bind(one.get(), kernel, bufs));
      CHECK_THROWS_AS(ctx.bind(one.get(), kernel, bufs), Error);  // out of sets
    }
    CHECK(vk::live_objects()[4] == live);
    // A new pool (perhaps with a destroyed one's handle) has all its room.
    auto pool = ctx.create_descriptor_pool(1, 2);
    CHECK_NOTHROW(ctx.bind(pool.get(), kernel, bufs));
  }

  TEST_CASE("upload and download round-trip through device memory") {
    ValidationScope validation;
    auto& ctx = gpu().context();
    for (auto use : {vk::MemoryUse::device, vk::MemoryUse::upload, vk::MemoryUse::readback}) {
      auto buf = ctx.create_buffer(1000 * 4, use, "test");
      std::vector<float> in(1000), out(1000);
      std::iota(in.begin(), in.end(), 1.0f);
      ctx.upload(buf, in.data(), 4000);
      ctx.download(buf, out.data(), 4000);
      CHECK(in == out);
    }
  }

  TEST_CASE("the memory cap turns an allocation into a clear error and frees on release") {
    vk::ContextOptions o;
    o.memory_limit = 1 << 20;
    vk::Context ctx(o);
    {
      auto a = ctx.create_buffer(600 << 10, vk::MemoryUse::device, "first");
      CHECK(ctx.allocated_bytes() == 600u << 10);
      CHECK_THROWS_WITH_AS(ctx.create_buffer(600 << 10, vk::MemoryUse::device, "second"),
                           doctest::Contains("device memory limit"), OutOfDeviceMemory);
    }
    CHECK(ctx.allocated_bytes() == 0);
    CHECK_NOTHROW(ctx.create_buffer(900 << 10, vk::MemoryUse::device, "after release"));
  }

  TEST_CASE("threads asking for kernels at once: each kernel compiled once and shared") {
    auto& ctx = gpu().context();
    constexpr int kThreads = 8;
    std::array<const vk::Kernel*, kThreads> got{};
    {
      std::vector<std::jthread> threads;
      for (int t = 0; t < kThreads; ++t)  // pairs of threads ask for the same workgroup size
        threads.emplace_back([&, t] { got[t] = &ctx.kernel({"copy", 2, 16, {32u << (t / 2), 1, 1}, {}}); });
    }
    for (int t = 0; t < kThreads; ++t) {
      CHECK(got[t] == got[t / 2 * 2]);
      CHECK(got[t]->local_size[0] == 32u << (t / 2));
      CHECK(got[t] == &ctx.kernel({"copy", 2, 16, {32u << (t / 2), 1, 1}, {}}));
    }
    CHECK(got[0] != got[2]);
    CHECK_THROWS_WITH(ctx.kernel({"copy", 3, 16, {32, 1, 1}, {}}), doctest::Contains("two different interfaces"));
  }

  TEST_CASE("copy kernel and dispatch argument checks") {
    ValidationScope validation;
    auto& ctx = gpu().context();
    const auto& kernel = ctx.kernel({"copy", 2, 16, {64, 1, 1}, {}});
    CHECK(&ctx.kernel({"copy", 2, 16, {64, 1, 1}, {}}) == &kernel);  // compiled once, then shared
    auto src = ctx.create_buffer(4096, vk::MemoryUse::upload, "src");
    auto dst = ctx.create_buffer(4096, vk::MemoryUse::readback, "dst");
    std::vector<uint32_t> in(1024), out(1024);
    std::iota(in.begin(), in.end(), 7u);
    ctx.upload(src, in.data(), 4096);
    auto pool = ctx.create_descriptor_pool(1, 2);
    const vk::GpuBuffer* bufs[] = {&src, &dst};
    const auto set = ctx.bind(pool.get(), kernel, bufs);
    struct {
      uint32_t n, pad[3];
    } pc{256, {}};
    vk::CommandBuffer cmd(ctx);
    cmd.begin();
    cmd.dispatch(set, pc, {3, 1, 1});
    const uint32_t wrong_size = 5;
    CHECK_THROWS_WITH(cmd.dispatch(set, wrong_size, {1, 1, 1}),
                      doctest::Contains("push-constant bytes"));
    CHECK_THROWS_WITH(cmd.dispatch(set, pc, {0, 1, 1}), doctest::Contains("workgroups"));
    cmd.end();
    cmd.submit_and_wait();
    ctx.download(dst, out.data(), 4096);
    CHECK(in == out);
    const vk::GpuBuffer* one[] = {&src};
    CHECK_THROWS_WITH(ctx.bind(pool.get(), kernel, one), doctest::Contains("takes 2 buffers"));
  }

  TEST_CASE(
      "the pipeline cache persists to a file, survives corruption and is not rewritten unchanged") {
    const std::string path = temp_path("pipelines.bin");
    std::filesystem::remove(path);
    GpuOptions o;
    o.pipeline_cache = path;
    {
      Gpu g(o);
      g.context().kernel({"copy", 2, 16, {64, 1, 1}, {}});
    }
    REQUIRE(std::filesystem::exists(path));
    const auto size = std::filesystem::file_size(path);
    CHECK(size > 0);
    const auto written = std::filesystem::last_write_time(path);
    {
      Gpu g(o);  // the same kernel again: nothing new to save
      g.context().kernel({"copy", 2, 16, {64, 1, 1}, {}});
    }
    CHECK(std::filesystem::last_write_time(path) == written);
    {
      std::ofstream junk(path, std::ios::binary | std::ios::trunc);
      junk << "not a pipeline cache";
    }
    {
      Gpu g(o);  // a corrupt file is ignored and replaced
      CHECK_NOTHROW(g.context().kernel({"copy", 2, 16, {64, 1, 1}, {}}));
    }
    CHECK(std::filesystem::file_size(path) == size);
    const std::string blocker = temp_path("pipelines-blocker");  // a file where a folder should be
    std::ofstream(blocker) << "x";
    o.pipeline_cache = blocker + "/sub/pipelines.bin";  // unwritable: the run still ends cleanly
    CHECK_NOTHROW([&] {
      Gpu g(o);
      g.context().kernel({"copy", 2, 16, {64, 1, 1}, {}});
    }());
    std::filesystem::remove(path);
    std::filesystem::remove(blocker);
  }
}

}  // namespace sinkstream::test
