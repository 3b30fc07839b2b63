// Xen 4.17's existing kexec ops in the model: slots and swaps, status, every segment rule and
// its errno, get_range, lockdown of the legacy loads, the unknown-op switch, exec and -EBUSY,
// and a fault injected at every guest copy with the state unchanged after each.
#include <cerrno>

#include "hv_test_support.h"

namespace hvsig::hv::test {
namespace {

struct Machine {
  explicit Machine(MachineConfig config = StandardMachine())
      : kexec(config, BuiltinProvider()) {}
  Kexec kexec;
  SimGuest guest;
};

TEST(HvKexec, BootsTheStandardMachine) {
  Machine m;
  EXPECT_TRUE(m.kexec.Booted()) << m.kexec.BootError();
}

TEST(HvKexec, RefusesCrashRegionOutsideRam) {
  MachineConfig config = StandardMachine();
  config.crash = {0x80000000, 0x1000000};  // the reserved hole
  Kexec kexec(config, BuiltinProvider());
  EXPECT_FALSE(kexec.Booted());
}

TEST(HvKexec, LoadSwapsSlotsAndStatusTellsTheTruth) {
  Machine m;
  EXPECT_EQ(Status(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 0);
  for (int load = 1; load <= 3; ++load) {
    ASSERT_EQ(SimpleLegacyLoad(m.kexec, m.guest, KEXEC_TYPE_DEFAULT, static_cast<uint8_t>(load)), 0);
    EXPECT_EQ(Status(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 1) << "after load " << load;
    auto image = m.kexec.ActiveImage(KEXEC_TYPE_DEFAULT);
    ASSERT_NE(image, nullptr);
    EXPECT_EQ(image->segments[0].buf[0], load) << "the newest image is the active one";
  }
  EXPECT_EQ(Status(m.kexec, m.guest, KEXEC_TYPE_CRASH), 0);
  EXPECT_EQ(Unload(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 0);
  EXPECT_EQ(Status(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 0);
  EXPECT_EQ(m.kexec.ActiveImage(KEXEC_TYPE_DEFAULT), nullptr);
  EXPECT_EQ(Unload(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 0) << "unloading nothing is a swap too";
}

TEST(HvKexec, Xen417StatusQuirkIsWrongAfterTwoLoads) {
  MachineConfig config = StandardMachine();
  config.xen417_status_quirk = true;
  Machine m(config);
  ASSERT_EQ(SimpleLegacyLoad(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 0);
  EXPECT_EQ(Status(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 1);
  ASSERT_EQ(SimpleLegacyLoad(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 0);
  EXPECT_NE(m.kexec.ActiveImage(KEXEC_TYPE_DEFAULT), nullptr);
  EXPECT_EQ(Status(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 0) << "4.17 reports the position bit";
}

TEST(HvKexec, StatusAndUnloadRejectUnknownTypes) {
  Machine m;
  EXPECT_EQ(Status(m.kexec, m.guest, 2), -EINVAL);
  EXPECT_EQ(Unload(m.kexec, m.guest, 7), -EINVAL);
  EXPECT_EQ(Exec(m.kexec, m.guest, 2), -EINVAL);
}

TEST(HvKexec, SegmentRules) {
  Machine m;
  const uint64_t d = 0x1000000;
  auto load = [&](uint8_t type, uint64_t entry, std::vector<LegacySegment> segs,
                  uint16_t arch = KEXEC_EM_X86_64, uint32_t nr = 0) {
    return LegacyLoad(m.kexec, m.guest, type, entry, segs, arch, nr);
  };
  // At most 15 segments.
  std::vector<LegacySegment> fifteen, sixteen;
  for (uint64_t i = 0; i < 16; ++i) {
    (i < 15 ? fifteen : sixteen).push_back({Bytes(16, 1), d + i * 0x1000, 0x1000});
  }
  sixteen.insert(sixteen.begin(), fifteen.begin(), fifteen.end());
  EXPECT_EQ(load(0, d, fifteen), 0);
  EXPECT_EQ(load(0, d, sixteen), -EINVAL);
  // Page alignment of dest and end.
  EXPECT_EQ(load(0, d, {{Bytes(16, 1), d + 8, 0x1000}}), -EADDRNOTAVAIL);
  EXPECT_EQ(load(0, d, {{Bytes(16, 1), d, 0x1008}}), -EADDRNOTAVAIL);
  // No overlap.
  EXPECT_EQ(load(0, d, {{Bytes(16, 1), d, 0x2000}, {Bytes(16, 1), d + 0x1000, 0x1000}}), -EINVAL);
  EXPECT_EQ(load(0, d, {{Bytes(16, 1), d, 0x1000}, {Bytes(16, 1), d + 0x1000, 0x1000}}), 0);
  // buf_size <= dest_size, tail zero.
  EXPECT_EQ(load(0, d, {{Bytes(0x1001, 1), d, 0x1000}}), -EINVAL);
  ASSERT_EQ(load(0, d, {{Bytes(10, 0xee), d, 0x1000}}), 0);
  auto image = m.kexec.ActiveImage(0);
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(image->segments[0].buf.size(), 10u);
  EXPECT_EQ(image->segments[0].dest_size, 0x1000u);
  // Arch: EM_386 and EM_X86_64 only.
  EXPECT_EQ(load(0, d, {{Bytes(16, 1), d, 0x1000}}, KEXEC_EM_386), 0);
  EXPECT_EQ(load(0, d, {{Bytes(16, 1), d, 0x1000}}, 40 /* EM_ARM */), -EINVAL);
  // Default images: no entry check.
  EXPECT_EQ(load(0, 0xdead0000, {{Bytes(16, 1), d, 0x1000}}), 0);
  // Crash images: entry and buffered segments inside the crash range; unbuffered ones anywhere.
  const uint64_t c = kCrashStart;
  EXPECT_EQ(load(1, c + 0x1000, {{Bytes(16, 1), c, 0x1000}}), 0);
  EXPECT_EQ(load(1, c + kCrashSize, {{Bytes(16, 1), c, 0x1000}}), 0) << "Xen allows entry == end";
  EXPECT_EQ(load(1, c - 1, {{Bytes(16, 1), c, 0x1000}}), -EADDRNOTAVAIL);
  EXPECT_EQ(load(1, c + kCrashSize + 1, {{Bytes(16, 1), c, 0x1000}}), -EADDRNOTAVAIL);
  EXPECT_EQ(load(1, c, {{Bytes(16, 1), c - 0x1000, 0x1000}}), -EADDRNOTAVAIL);
  EXPECT_EQ(load(1, c, {{Bytes(16, 1), c + kCrashSize - 0x1000, 0x2000}}), -EADDRNOTAVAIL);
  EXPECT_EQ(load(1, c, {{Bytes(), 0x1000000, 0x1000, true}}), 0);
  // Crash range is checked before alignment (kimage_crash_alloc runs first).
  EXPECT_EQ(load(1, c - 1, {{Bytes(16, 1), c + 8, 0x1000}}), -EADDRNOTAVAIL);
  // Unknown type.
  EXPECT_EQ(load(2, d, {{Bytes(16, 1), d, 0x1000}}), -EINVAL);
}

TEST(HvKexec, GetRange) {
  Machine m;
  auto range = [&](int32_t which, int32_t nr, xen_kexec_range_t& out) {
    xen_kexec_range_t r{which, nr, 0, 0};
    const uint64_t addr = m.guest.PutStruct(r);
    const long rc = m.kexec.Hypercall(KEXEC_CMD_kexec_get_range, addr, m.guest.Memory());
    out = m.guest.Get<xen_kexec_range_t>(addr);
    return rc;
  };
  xen_kexec_range_t r;
  ASSERT_EQ(range(KEXEC_RANGE_MA_CRASH, 0, r), 0);
  EXPECT_EQ(r.start, kCrashStart);
  EXPECT_EQ(r.size, kCrashSize);
  ASSERT_EQ(range(KEXEC_RANGE_MA_XEN, 0, r), 0);
  EXPECT_NE(r.size, 0u);
  ASSERT_EQ(range(KEXEC_RANGE_MA_VMCOREINFO, 0, r), 0);
  EXPECT_EQ(r.size, 4096u);
  EXPECT_EQ(r.start % 4096, 0u);
  uint64_t previous_end = 0;
  for (int cpu = 0; cpu < 4; ++cpu) {
    ASSERT_EQ(range(KEXEC_RANGE_MA_CPU, cpu, r), 0);
    EXPECT_EQ(r.size, cpu == 0 ? 500u : 404u) << "CORE + Xen notes (+ Xen info on CPU 0)";
    EXPECT_GE(r.start, previous_end);
    previous_end = r.start + r.size;
  }
  EXPECT_EQ(range(KEXEC_RANGE_MA_CPU, 4, r), -ERANGE);
  EXPECT_EQ(range(KEXEC_RANGE_MA_CPU, -1, r), -ERANGE);
  EXPECT_EQ(range(KEXEC_RANGE_MA_XENHEAP, 0, r), -EINVAL);
  EXPECT_EQ(range(KEXEC_RANGE_MA_BOOT_PARAM, 0, r), -EINVAL);
  EXPECT_EQ(range(99, 0, r), -EINVAL);

  MachineConfig no_crash = StandardMachine();
  no_crash.crash = {0, 0};
  Machine n(no_crash);
  xen_kexec_range_t q{KEXEC_RANGE_MA_CRASH, 0, 1, 1};
  const uint64_t addr = n.guest.PutStruct(q);
  ASSERT_EQ(n.kexec.Hypercall(KEXEC_CMD_kexec_get_range, addr, n.guest.Memory()), 0);
  EXPECT_EQ(n.guest.Get<xen_kexec_range_t>(addr).size, 0u);
  xen_kexec_range_t cpu{KEXEC_RANGE_MA_CPU, 0, 0, 0};
  EXPECT_EQ(Op(n.kexec, n.guest, KEXEC_CMD_kexec_get_range, cpu), -EINVAL) << "no crash notes";
}

TEST(HvKexec, UnknownOpSwitch) {
  for (bool implemented : {false, true}) {
    MachineConfig config = StandardMachine();
    config.file_load_implemented = implemented;
    Machine old(config);
    xen_kexec_status_t s{0};
    EXPECT_EQ(Op(old.kexec, old.guest, 99, s), 0) << "4.17: rc 0 for an unknown op";
    if (!implemented) {
      // A stock 4.17 asked for file-load: rc 0, and the magic stays what the caller wrote.
      const uint64_t arg = PutFileLoad(old.guest, {MinimalBzImage(), {}, {}, {}}, 0,
                                       KEXEC_FILE_NO_INITRAMFS);
      EXPECT_EQ(old.kexec.Hypercall(KEXEC_CMD_kexec_file_load, arg, old.guest.Memory()), 0);
      EXPECT_EQ(old.guest.Get<xen_kexec_file_load_t>(arg).magic, 0u);
      EXPECT_EQ(Status(old.kexec, old.guest, 0), 0) << "nothing was loaded";
    }
  }
  MachineConfig config = StandardMachine();
  config.unknown_op = UnknownOp::EOpNotSupp;
  Machine later(config);
  xen_kexec_status_t s{0};
  EXPECT_EQ(Op(later.kexec, later.guest, 99, s), -EOPNOTSUPP);
}

TEST(HvKexec, ExecHandsOffAndThenEverythingIsBusy) {
  Machine m;
  EXPECT_EQ(Exec(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), -ENOENT);
  ASSERT_EQ(SimpleLegacyLoad(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 0);
  ASSERT_EQ(Exec(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 0);
  Handoff h{};
  ASSERT_TRUE(m.kexec.Kexeced(h));
  EXPECT_EQ(h.entry_maddr, 0x1000000u);
  EXPECT_FALSE(h.file_loaded);
  EXPECT_EQ(SimpleLegacyLoad(m.kexec, m.guest, KEXEC_TYPE_CRASH), -EBUSY);
  EXPECT_EQ(Unload(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), -EBUSY);
  EXPECT_EQ(Exec(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), -EBUSY);
  EXPECT_EQ(Status(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 1) << "status still answers";
}

TEST(HvKexec, LockdownRefusesLegacyLoadsUnderEnforce) {
  for (bool secure_boot : {true, false}) {
    MachineConfig config = StandardMachine();
    config.secure_boot = secure_boot;
    config.mode = secure_boot ? policy::Mode::Off : policy::Mode::Enforce;  // SB forces enforce
    Machine m(config);
    EXPECT_EQ(m.kexec.Mode(), policy::Mode::Enforce);
    EXPECT_EQ(SimpleLegacyLoad(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), -EPERM);
    xen_kexec_load_v1_t v1{};
    EXPECT_EQ(Op(m.kexec, m.guest, KEXEC_CMD_kexec_load_v1, v1), -EPERM);
    EXPECT_EQ(m.guest.copies_from, 0) << "refused before reading the argument";
    EXPECT_EQ(Status(m.kexec, m.guest, KEXEC_TYPE_DEFAULT), 0);
    int refusals = 0;
    for (const std::string& line : m.kexec.Console()) {
      if (line.find("lockdown") != std::string::npos && line.find("-EPERM") != std::string::npos) ++refusals;
    }
    EXPECT_EQ(refusals, 2);
    EXPECT_TRUE(m.kexec.Events().empty());
  }
}

// load_v1: a guest-built indirection page list (IND_DESTINATION / IND_SOURCE / IND_DONE).
uint64_t PutV1Image(SimGuest& guest, uint64_t dest, const std::vector<Bytes>& pages, uint8_t type) {
  std::vector<uint64_t> entries{dest | KEXEC_IND_DESTINATION};
  for (const Bytes& p : pages) entries.push_back(guest.Put(p) | KEXEC_IND_SOURCE);
  entries.push_back(KEXEC_IND_DONE);
  Bytes list(4096, 0);
  std::memcpy(list.data(), entries.data(), entries.size() * 8);
  xen_kexec_load_v1_t load{};
  load.type = type;
  load.image.indirection_page = guest.Put(list);
  load.image.start_address = dest;
  return guest.PutStruct(load);
}

TEST(HvKexec, LoadV1AndUnloadV1WorkWithEnforcementOff) {
  for (policy::Mode mode : {policy::Mode::Off, policy::Mode::Log}) {
    MachineConfig config = StandardMachine();
    config.mode = mode;
    Machine m(config);
    const uint64_t arg = PutV1Image(m.guest, 0x2000000, {Bytes(4096, 0x11), Bytes(4096, 0x22)}, 0);
    ASSERT_EQ(m.kexec.Hypercall(KEXEC_CMD_kexec_load_v1, arg, m.guest.Memory()), 0);
    auto image = m.kexec.ActiveImage(0);
    ASSERT_NE(image, nullptr);
    ASSERT_EQ(image->segments.size(), 1u);
    EXPECT_EQ(image->segments[0].dest_size, 0x2000u);
    EXPECT_EQ(image->segments[0].buf[4096], 0x22);
    EXPECT_EQ(SimpleLegacyLoad(m.kexec, m.guest, KEXEC_TYPE_CRASH), 0);
    EXPECT_EQ(m.kexec.Hypercall(KEXEC_CMD_kexec_unload_v1, arg, m.guest.Memory()), 0);
    EXPECT_EQ(Status(m.kexec, m.guest, 0), 0);
    EXPECT_EQ(Status(m.kexec, m.guest, 1), 1);
    bool logged = false;
    for (const std::string& line : m.kexec.Console()) logged |= line.find("mode log") != std::string::npos;
    EXPECT_EQ(logged, mode == policy::Mode::Log);
  }
}

TEST(HvKexec, LoadV1Errors) {
  Machine m;
  // SOURCE before any DESTINATION.
  Bytes list(4096, 0);
  const uint64_t src = m.guest.Put(Bytes(4096, 1));
  uint64_t entries[] = {src | KEXEC_IND_SOURCE, KEXEC_IND_DONE};
  std::memcpy(list.data(), entries, sizeof entries);
  xen_kexec_load_v1_t load{};
  load.image.indirection_page = m.guest.Put(list);
  EXPECT_EQ(Op(m.kexec, m.guest, KEXEC_CMD_kexec_load_v1, load), -EINVAL);
  // An unknown entry kind.
  entries[0] = 0x1000000 | 0x3;
  std::memcpy(m.guest.Data(load.image.indirection_page), entries, sizeof entries);
  EXPECT_EQ(Op(m.kexec, m.guest, KEXEC_CMD_kexec_load_v1, load), -EINVAL);
  // An indirection page the guest does not own.
  load.image.indirection_page = 0x7000000000;
  EXPECT_EQ(Op(m.kexec, m.guest, KEXEC_CMD_kexec_load_v1, load), -EFAULT);
  // Type 2 is not a kexec type.
  const uint64_t arg = PutV1Image(m.guest, 0x2000000, {Bytes(4096, 1)}, 2);
  EXPECT_EQ(m.kexec.Hypercall(KEXEC_CMD_kexec_load_v1, arg, m.guest.Memory()), -EINVAL);
  EXPECT_EQ(Status(m.kexec, m.guest, 0), 0);
}

// The state an op may change, compared before and after a failed op.
struct Snapshot {
  long status[2];
  std::vector<Bytes> segments[2];
  size_t events;
  bool kexeced;
  bool operator==(const Snapshot&) const = default;
};

Snapshot Take(Kexec& kexec) {
  Snapshot s{};
  for (uint8_t type : {0, 1}) {
    SimGuest g;
    s.status[type] = Status(kexec, g, type);
    if (auto image = kexec.ActiveImage(type)) {
      for (const SegmentView& seg : image->segments) s.segments[type].push_back(seg.buf);
    }
  }
  s.events = kexec.Events().size();
  Handoff h;
  s.kexeced = kexec.Kexeced(h);
  return s;
}

TEST(HvKexec, FaultAtEveryCopyLeavesStateUnchanged) {
  struct Case {
    const char* name;
    std::function<long(Kexec&, SimGuest&)> op;
  };
  const uint64_t d = 0x1000000;
  std::vector<Case> cases = {
      {"load", [&](Kexec& k, SimGuest& g) {
         return LegacyLoad(k, g, 0, d, {{Bytes(5000, 3), d, 0x2000}, {Bytes(100, 4), d + 0x4000, 0x1000}});
       }},
      {"load_v1", [&](Kexec& k, SimGuest& g) {
         const uint64_t arg = PutV1Image(g, 0x3000000, {Bytes(4096, 5), Bytes(4096, 6)}, 0);
         return k.Hypercall(KEXEC_CMD_kexec_load_v1, arg, g.Memory());
       }},
      {"unload", [](Kexec& k, SimGuest& g) { return Unload(k, g, 0); }},
      {"unload_v1", [](Kexec& k, SimGuest& g) {
         xen_kexec_load_v1_t v1{};
         return Op(k, g, KEXEC_CMD_kexec_unload_v1, v1);
       }},
      {"status", [](Kexec& k, SimGuest& g) { return Status(k, g, 0); }},
      {"get_range", [](Kexec& k, SimGuest& g) {
         xen_kexec_range_t r{KEXEC_RANGE_MA_CRASH, 0, 0, 0};
         return Op(k, g, KEXEC_CMD_kexec_get_range, r);
       }},
      {"exec", [](Kexec& k, SimGuest& g) { return Exec(k, g, 0); }},
  };
  for (const Case& c : cases) {
    // Count the op's copies on a machine in the same state.
    long copies_from = 0, copies_to = 0;
    {
      Machine count;
      ASSERT_EQ(SimpleLegacyLoad(count.kexec, count.guest, 0), 0);
      SimGuest g;
      ASSERT_GE(c.op(count.kexec, g), 0) << c.name;
      copies_from = g.copies_from;
      copies_to = g.copies_to;
    }
    ASSERT_GT(copies_from, 0) << c.name;
    for (long n = 0; n < copies_from + copies_to; ++n) {
      Machine m;
      ASSERT_EQ(SimpleLegacyLoad(m.kexec, m.guest, 0), 0);
      const Snapshot before = Take(m.kexec);
      SimGuest g;
      if (n < copies_from) g.fail_copy_from = n; else g.fail_copy_to = n - copies_from;
      EXPECT_EQ(c.op(m.kexec, g), -EFAULT) << c.name << " copy " << n;
      EXPECT_TRUE(Take(m.kexec) == before) << c.name << " copy " << n;
    }
  }
}

}  // namespace
}  // namespace hvsig::hv::test
