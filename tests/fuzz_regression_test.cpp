// Every fuzz target (fuzz/*_fuzz.cpp, built here with HVSIG_FUZZ_REGISTRY instead of libFuzzer)
// replays its committed seeds, fuzz/corpus/<target>/, and the inputs of past findings,
// fuzz/regressions/<target>/, in the normal suite and under every sanitizer preset. A target
// aborts on a broken invariant, so a regression fails this test by crashing it.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fuzz_support.h"
#include "test_support.h"

namespace hvsig::fuzz {

std::map<std::string, TargetFunction>& Targets() {
  static std::map<std::string, TargetFunction> targets;
  return targets;
}

Registration::Registration(const char* name, TargetFunction function) { Targets()[name] = function; }

}  // namespace hvsig::fuzz

namespace hvsig::test {
namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir = fs::path(HVSIG_SOURCE_DIR) / "fuzz";

std::vector<fs::path> Inputs(const std::string& kind, const std::string& target) {
  std::vector<fs::path> files;
  const fs::path dir = kFuzzDir / kind / target;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Each directory of fuzz/corpus names a target, and each target has seeds.
TEST(FuzzRegression, EveryTargetHasSeeds) {
  std::vector<std::string> dirs;
  for (const auto& entry : fs::directory_iterator(kFuzzDir / "corpus")) {
    dirs.push_back(entry.path().filename());
  }
  std::sort(dirs.begin(), dirs.end());
  std::vector<std::string> targets;
  for (const auto& [name, function] : fuzz::Targets()) targets.push_back(name);
  EXPECT_EQ(dirs, targets);
  for (const std::string& t : targets) EXPECT_FALSE(Inputs("corpus", t).empty()) << t;
}

class FuzzTarget : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzTarget, SeedsAndRegressionsRun) {
  const fuzz::TargetFunction function = fuzz::Targets().at(GetParam());
  size_t count = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    for (const fs::path& file : Inputs(kind, GetParam())) {
      // An exact-size copy, so that ASan sees any read past the input.
      const Bytes bytes = ReadFile(file.string());
      const auto copy = std::make_unique<uint8_t[]>(bytes.size());
      std::copy(bytes.begin(), bytes.end(), copy.get());
      SCOPED_TRACE(file.string());
      EXPECT_EQ(function(copy.get(), bytes.size()), 0);
      ++count;
    }
  }
  EXPECT_GT(count, 0u);
}

std::vector<std::string> TargetNames() {
  std::vector<std::string> names;
  for (const auto& [name, function] : fuzz::Targets()) names.push_back(name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Fuzz, FuzzTarget, ::testing::ValuesIn(TargetNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace hvsig::test
