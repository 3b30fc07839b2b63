// hvsig-kexec's exit statuses and its one failure line, `hvsig-kexec: <ERRNO-NAME>: <reason>`.
#pragma once

#include <string>

namespace hvsig::kexec_cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // refused, failed, or -S: nothing loaded
inline constexpr int kExitUsage = 2;

// Prints the failure line for a positive errno on stderr; returns kExitFailed.
int Fail(int error, const std::string& reason);

inline const char* SlotName(bool crash) { return crash ? "crash" : "default"; }

}  // namespace hvsig::kexec_cli
