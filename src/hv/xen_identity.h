// Who the modelled hypervisor says it is, wherever a dom0 program can ask: the xen_version
// hypercall (hvsig-hypervisor), /sys/hypervisor and the PV CPUID leaves (hvsig-dom0). One
// definition, so every probe sees the same Xen 4.17.
#pragma once

#include <cstdint>

namespace hvsig::hv::xen_identity {

inline constexpr uint32_t kMajor = 4;
inline constexpr uint32_t kMinor = 17;
inline constexpr char kExtraVersion[] = ".0-hvsig";  // XENVER_extraversion, /sys/hypervisor/version/extra
inline constexpr char kCapabilities[] = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64";
inline constexpr char kChangeset[] = "hvsig model";
inline constexpr uint32_t kPageSize = 4096;

// Xen's CPUID leaves at 0x40000000: signature "XenVMMXenVMM", leaf 1 = version, leaf 2 =
// hypercall pages and the MSR that installs them. 4.17 reports five leaves.
inline constexpr uint32_t kCpuidBase = 0x40000000;
inline constexpr uint32_t kCpuidMaxLeaf = kCpuidBase + 5;
inline constexpr char kCpuidSignature[] = "XenVMMXenVMM";
inline constexpr uint32_t kHypercallPages = 1;
inline constexpr uint32_t kHypercallMsr = 0x40000000;

}  // namespace hvsig::hv::xen_identity
