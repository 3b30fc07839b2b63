#!/usr/bin/env python3
"""Writes the committed seed corpora, fuzz/corpus/<target>/, from the fuzz keys (fuzz/keys/)
with the openssl CLI, sbsign, efitools, gcc and the hvsig CLI (for livepatch signing):
    python3 fuzz/make-corpus.py [--hvsig build/bin/hvsig]
Big seeds (Debian's kernel, OVMF's variable store) are not committed: fuzz/run.sh derives
them at run time from the test cache (--runtime CACHE_DIR OUT_DIR does that part)."""
import argparse
import pathlib
import shutil
import struct
import subprocess
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
KEYS = HERE / "keys"
HELLO = pathlib.Path("/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi")
# pkcs7_fuzz.cpp's kContent: the detached signatures' content, its NUL included.
DETACHED_CONTENT = b"hvsig fuzz detached content\n\0"
GUEST_BASE = 0x10000
GUEST_HEADER = 40


def sh(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, **kw).stdout


def put(target, name, data, root):
    d = root / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def le(fmt, *v):
    return struct.pack("<" + fmt, *v)


# ---- PE --------------------------------------------------------------------------------------

def cert_table(pe):
    e_lfanew = struct.unpack_from("<I", pe, 0x3c)[0]
    optional = e_lfanew + 24
    magic = struct.unpack_from("<H", pe, optional)[0]
    security_dir = optional + (112 if magic == 0x20b else 96) + 4 * 8
    return struct.unpack_from("<II", pe, security_dir)


def sbsign(image, out):
    sh("sbsign", "--key", str(KEYS / "signer.key"), "--cert", str(KEYS / "signer.pem"),
       "--addcert", str(KEYS / "ca.pem"), "--output", str(out), str(image), stderr=subprocess.DEVNULL)
    return out.read_bytes()


# ---- bzImage ---------------------------------------------------------------------------------

def synthetic_bzimage(payload_size=4096):
    """The smallest file that passes the boot-protocol probe: one setup sector, protocol 2.15,
    LOADED_HIGH, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G, relocatable."""
    k = bytearray(1024 + payload_size)
    k[0x1f1] = 1                                  # setup_sects
    struct.pack_into("<H", k, 0x1fe, 0xaa55)      # boot_flag
    k[0x201] = 0x6a                               # jump: header ends at 0x26c
    k[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", k, 0x206, 0x020f)      # version
    k[0x211] = 0x01                               # loadflags: LOADED_HIGH
    struct.pack_into("<I", k, 0x22c, 0x7fffffff)  # initrd_addr_max
    struct.pack_into("<I", k, 0x230, 0x200000)    # kernel_alignment
    k[0x234] = 1                                  # relocatable_kernel
    struct.pack_into("<H", k, 0x236, 0x3)         # xloadflags
    struct.pack_into("<I", k, 0x238, 2047)        # cmdline_size
    struct.pack_into("<Q", k, 0x258, 0x1000000)   # pref_address
    struct.pack_into("<I", k, 0x260, 0x400000)    # init_size
    return bytes(k)


def bzimage_seed(flags, cmdline, initrd, kernel):
    return bytes([flags]) + le("H", len(cmdline)) + le("I", len(initrd))[:3] + cmdline + initrd + kernel


# ---- Guest memory images (fuzz/guest_image.h) -------------------------------------------------

class Guest:
    def __init__(self, config):
        self.mem = bytearray(GUEST_HEADER)
        self.mem[0] = config
        self.ops = 0

    def put(self, data):
        while len(self.mem) % 8:
            self.mem.append(0)
        addr = GUEST_BASE + len(self.mem)
        self.mem += data
        return addr

    def op(self, number, arg_addr):
        self.mem[1 + self.ops] = number
        struct.pack_into("<Q", self.mem, 8 + 8 * self.ops, arg_addr)
        self.ops += 1


def kexec_file_load(g, type_, flags, kernel, initrd=b"", cmdline=b"", initrd_sig=b""):
    def buf(b):
        return (g.put(b), len(b)) if b else (0, 0)
    fields = [buf(kernel), buf(initrd), buf(cmdline), buf(initrd_sig)]
    arg = struct.pack("<B3xI", type_, flags) + b"".join(le("QQ", *f) for f in fields)
    arg += bytes(160 - len(arg))  # the OUT fields
    return g.put(arg)


def kexec_seeds(signed_pe):
    seeds = {}
    kernel = synthetic_bzimage()
    cmdline = b"console=ttyS0\0"
    initrd = bytes(range(64))
    # Mode off: the loader runs on an unsigned bzImage; then status, exec, unload.
    g = Guest(config=2)
    g.op(7, kexec_file_load(g, 0, 0, kernel, initrd, cmdline))
    g.op(6, g.put(bytes([0])))
    g.op(5, g.put(bytes([0])))
    g.op(0, g.put(le("i", 0)))
    seeds["file_load_off"] = bytes(g.mem)
    g = Guest(config=2)
    g.op(7, kexec_file_load(g, 1, 4, kernel, b"", cmdline))
    g.op(6, g.put(bytes([1])))
    seeds["file_load_crash_no_initramfs"] = bytes(g.mem)
    # Enforce: a PE signed by the fuzz signer is trusted, then refused by the bzImage probe.
    g = Guest(config=0)
    g.op(7, kexec_file_load(g, 0, 0, signed_pe, initrd, cmdline, initrd_sig=b"\x30\x03\x02\x01\x01"))
    seeds["file_load_enforce_pe"] = bytes(g.mem)
    # Legacy load with two segments, then status and unload; get_range; load_v1.
    g = Guest(config=1)
    seg0 = g.put(bytes(range(256)) * 4)
    seg1 = g.put(b"\xcc" * 100)
    table = g.put(le("QQQQ", seg0, 1024, 0x1000000, 0x1000) + le("QQQQ", seg1, 100, 0x1001000, 0x2000))
    g.op(4, g.put(struct.pack("<BBHIQQ", 0, 0, 62, 2, table, 0x1000000)))
    g.op(6, g.put(bytes([0])))
    g.op(3, g.put(struct.pack("<iiQQ", 2, 1, 0, 0)))
    g.op(5, g.put(bytes([0])))
    seeds["legacy_load"] = bytes(g.mem)
    g = Guest(config=2)
    image = struct.pack("<17QQQ", *([0] * 17), 0, 0x1000000)
    g.op(1, g.put(struct.pack("<iI", 1, 0) + image))
    g.op(2, g.put(struct.pack("<iI", 1, 0) + image))
    g.op(3, g.put(struct.pack("<iiQQ", 0, 0, 0, 0)))
    g.op(3, g.put(struct.pack("<iiQQ", 5, 0, 0, 0)))
    seeds["load_v1_get_range"] = bytes(g.mem)
    return seeds


def lp_name(g, name):
    data = name.encode() + b"\0"
    return struct.pack("<QH6x", g.put(data), len(data))


def livepatch_seeds(note_signed, mod_signed, unsigned):
    seeds = {}
    for tag, config, payload in [("note_enforce", 0, note_signed), ("modsig_secure_boot", 3, mod_signed),
                                 ("unsigned_log", 1, unsigned)]:
        g = Guest(config)
        name = lp_name(g, "hvsig_fuzz_patch")
        upload = name + le("QQ", len(payload), g.put(payload))
        g.op(0, g.put(le("II", 0, 0) + upload + bytes(64 - len(upload))))
        get = name + le("Ii", 0, 0)
        g.op(0, g.put(le("II", 1, 0) + get + bytes(64 - len(get))))
        status, names, lens = g.put(bytes(8 * 2)), g.put(bytes(256)), g.put(bytes(8))
        meta, meta_len = g.put(bytes(256)), g.put(bytes(8))
        lst = struct.pack("<IIIIIIQQQQQ", 0, 0, 2, 0, 0, 0, status, names, lens, meta, meta_len)
        g.op(0, g.put(le("II", 2, 0) + lst))
        action = name + le("IIII", 3, 0, 0, 0)
        g.op(0, g.put(le("II", 3, 0) + action + bytes(64 - len(action))))
        seeds[tag] = bytes(g.mem)
    return seeds


# ---- Livepatch payloads ----------------------------------------------------------------------

PATCH_SOURCE = r"""struct livepatch_func {
  const char *name; void *new_addr; void *old_addr; unsigned int new_size, old_size;
  unsigned char version; unsigned char pad[39]; unsigned char expect[32];
};
int patched_function(int x) { return x * 3 + 1; }
struct livepatch_func lp_funcs[] __attribute__((section(".livepatch.funcs"), used)) = {
  {"original_function", (void *)patched_function, 0, 16, 16, 2, {0}, {0}},
};
static const char modinfo[] __attribute__((section(".modinfo"), used)) = "name=hvsig_fuzz";
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hvsig", default=str(HERE.parent / "build" / "bin" / "hvsig"))
    parser.add_argument("--runtime", nargs=2, metavar=("CACHE_DIR", "OUT_DIR"))
    args = parser.parse_args()
    if args.runtime:
        return runtime(pathlib.Path(args.runtime[0]), pathlib.Path(args.runtime[1]))

    root = HERE / "corpus"
    shutil.rmtree(root, ignore_errors=True)
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        ca = (KEYS / "ca.der").read_bytes()
        signer = (KEYS / "signer.der").read_bytes()
        spki = (KEYS / "signer.spki.der").read_bytes()
        content = tmp / "content"
        content.write_bytes(DETACHED_CONTENT)
        cms = {}
        for tag, extra in [("attrs", []), ("noattr", ["-noattr"]), ("nocerts_keyid", ["-nocerts", "-keyid"])]:
            out = tmp / f"{tag}.p7s"
            sh("openssl", "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256", "-signer",
               str(KEYS / "signer.pem"), "-inkey", str(KEYS / "signer.key"), "-certfile",
               str(KEYS / "ca.pem"), *extra, "-in", str(content), "-out", str(out))
            cms[tag] = out.read_bytes()

        hello = HELLO.read_bytes()
        signed = sbsign(HELLO, tmp / "hello.signed")
        offset, length = cert_table(signed)
        win_cert_payload = signed[offset + 8:offset + length]

        # DER
        put("der", "ca.der", ca, root)
        put("der", "signer.der", signer, root)
        put("der", "spki.der", spki, root)
        put("der", "cms_attrs.der", cms["attrs"], root)
        put("der", "primitives.der", bytes.fromhex(
            "3040" "020100" "0202ff7f" "06092a864886f70d01010b" "030200ff" "0101ff" "0500"
            "170d3439313233313233353935395a" "180f32303530303130313030303030305a"), root)
        # X.509
        put("x509", "ca.der", ca, root)
        put("x509", "signer.der", signer, root)
        put("x509", "signer_ca.der", signer + ca, root)
        ec_key, ec_cert = tmp / "ec.key", tmp / "ec.der"
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes",
           "-keyout", str(ec_key), "-subj", "/CN=hvsig fuzz P-384/O=hvsig", "-days", "3650",
           "-outform", "DER", "-out", str(ec_cert), stderr=subprocess.DEVNULL)
        put("x509", "p384_self_signed.der", ec_cert.read_bytes(), root)
        # PKCS#7
        put("pkcs7", "authenticode_win_certificate", win_cert_payload, root)
        for tag, blob in cms.items():
            put("pkcs7", f"cms_{tag}.der", blob, root)
        # PE and verify
        put("pe", "hello.efi", hello, root)
        put("pe", "hello.signed.efi", signed, root)
        put("verify", "hello.signed.efi", signed, root)
        put("verify", "hello.efi", hello, root)
        # ESL and containers
        esl = tmp / "ca.esl"
        sh("cert-to-efi-sig-list", "-g", "11111111-2222-3333-4444-555555555555", str(KEYS / "ca.pem"), str(esl))
        hashes = tmp / "hash.esl"
        sh("hash-to-efi-sig-list", str(HELLO), str(hashes))
        auth = tmp / "db.auth"
        sh("sign-efi-sig-list", "-t", "2025-01-01 00:00:00", "-k", str(KEYS / "ca.key"), "-c",
           str(KEYS / "ca.pem"), "db", str(esl), str(auth), stderr=subprocess.DEVNULL)
        put("esl", "ca.esl", esl.read_bytes(), root)
        put("esl", "hash.esl", hashes.read_bytes(), root)
        put("esl", "ca_hash.esl", esl.read_bytes() + hashes.read_bytes(), root)
        put("esl", "db.auth", auth.read_bytes(), root)
        put("esl", "db.efivarfs", le("I", 0x27) + esl.read_bytes(), root)
        # Livepatch payloads
        src = tmp / "lp.c"
        src.write_text(PATCH_SOURCE)
        obj = tmp / "lp.o"
        sh("gcc", "-c", "-O2", "-x", "c", str(src), "-o", str(obj))
        payloads = {"unsigned.o": obj.read_bytes()}
        for fmt in ("note", "modsig"):
            out = tmp / f"lp.{fmt}.o"
            sh(args.hvsig, "sign", "livepatch", "--format", fmt, "--key", str(KEYS / "signer.key"),
               "--cert", str(KEYS / "signer.pem"), str(obj), "-o", str(out))
            payloads[f"{fmt}.o"] = out.read_bytes()
        for name, data in payloads.items():
            put("livepatch_elf", name, data, root)
            put("livepatch_sig", name, data, root)
        # bzImage loader
        kernel = synthetic_bzimage()
        put("bzimage", "default", bzimage_seed(0, b"console=ttyS0\0", bytes(64), kernel), root)
        put("bzimage", "crash", bzimage_seed(1, b"console=ttyS0\0", bytes(64), kernel), root)
        put("bzimage", "efi_above_4g_secure_boot", bzimage_seed(2 | 4 | 8, b"", b"", kernel), root)
        # Hypercalls
        for name, data in kexec_seeds(signed).items():
            put("kexec_op", name, data, root)
        for name, data in livepatch_seeds(payloads["note.o"], payloads["modsig.o"], payloads["unsigned.o"]).items():
            put("livepatch_op", name, data, root)
    total = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    print(f"make-corpus: {sum(1 for f in root.rglob('*') if f.is_file())} files, {total} bytes")


def runtime(cache, out):
    """Seeds from the test cache, when it has them: Debian's signed kernel (pe, verify,
    bzimage, kexec_op) and OVMF's variable stores (esl)."""
    kernel_path = cache / "authenticode" / "vmlinuz"
    if kernel_path.exists():
        kernel = kernel_path.read_bytes()
        put("pe", "debian-vmlinuz", kernel, out)
        put("verify", "debian-vmlinuz", kernel, out)
        put("bzimage", "debian-vmlinuz", bzimage_seed(0, b"console=ttyS0\0", b"", kernel), out)
        for config in (0, 2):
            g = Guest(config)
            g.op(7, kexec_file_load(g, 0, 4, kernel, b"", b"quiet\0"))
            put("kexec_op", f"debian-vmlinuz-{config}", bytes(g.mem), out)
    for fd in sorted(cache.rglob("OVMF_VARS*.fd"))[:3]:
        put("esl", fd.name, fd.read_bytes(), out)


if __name__ == "__main__":
    main()
