// PE/COFF parsing and the Authenticode image digest (Microsoft's Authenticode PE specification,
// and the checks of Linux's verify_pefile.c: references §3 lists A, B, F).
//
// Everything is computed into a caller-owned PeImage: no heap, no pointers into the image
// (which is only reachable through an ImageSource).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/crypto.h"
#include "hvsig/image.h"
#include "hvsig/input.h"
#include "hvsig/result.h"

namespace hvsig::pe {

// The PE specification's limit on NumberOfSections (the loader refuses more).
constexpr uint16_t kMaxSections = 96;
// WIN_CERTIFICATE entries per certificate table (each is one top-level signature).
constexpr uint8_t kMaxSignatures = 8;

struct Section {
  char name[8];  // as stored: NUL-padded, not necessarily NUL-terminated
  uint32_t virtual_size;
  uint32_t virtual_address;
  uint32_t size_of_raw_data;
  uint32_t pointer_to_raw_data;
  uint32_t characteristics;
};

struct ByteRange {
  uint64_t offset;
  uint64_t length;
  uint64_t end() const { return offset + length; }
};

// One WIN_CERTIFICATE entry of the certificate table.
struct CertificateEntry {
  uint64_t offset;         // of the WIN_CERTIFICATE header in the file
  uint32_t length;         // dwLength
  uint16_t revision;       // wRevision (0x0200)
  uint16_t type;           // wCertificateType (2 = PKCS_SIGNED_DATA)
  ByteRange der;           // the PKCS#7 SignedData inside the entry
};

enum class Profile : uint8_t {
  // For kernels: every byte between the headers and the certificate table is covered by the
  // digest; sections may not overlap the headers, each other or the table.
  Strict,
  // What shim/sbsign/pesign accept: gaps and overlaps are hashed per the spec and reported.
  Compat,
};

struct PeImage {
  uint64_t file_size;
  bool pe32_plus;
  uint16_t machine;
  uint16_t subsystem;
  uint32_t e_lfanew;
  uint32_t size_of_headers;
  uint32_t number_of_rva_and_sizes;
  uint64_t checksum_offset;       // the 4-byte CheckSum field, excluded from the digest
  uint64_t security_dir_offset;   // the 8-byte security data directory, excluded from the digest
  uint32_t checksum;
  ByteRange cert_table;           // length 0: unsigned

  uint16_t section_count;
  Section sections[kMaxSections];

  // The Authenticode digest covers these ranges in this order (list F).
  uint16_t hash_range_count;
  ByteRange hash_ranges[kMaxSections + 4];

  // Layout facts the profiles judge (first instance of each, for the report).
  uint16_t gap_count;             // unhashed gaps between the headers and the last section
  ByteRange first_gap;
  bool section_overlap;           // a section overlaps the headers or another section
  ByteRange extra_data;           // hashed bytes after the sections, before the table

  uint8_t certificate_count;
  CertificateEntry certificates[kMaxSignatures];

  bool is_signed() const { return cert_table.length != 0; }
};

// Parses headers, section table and certificate table, computes the digest ranges, and applies
// the profile's layout rules. On failure error names the check and the file offset.
Result ParsePe(const ImageSource& image, Profile profile, PeImage& out, Error& error);

// The Authenticode digest in one pass over the image, for up to one digest per algorithm.
// Resumable: with a PreemptionHook, Run returns Result::Preempted between chunks when asked to
// yield, and continues where it stopped on the next call.
class AuthenticodeHasher {
 public:
  static constexpr size_t kMaxAlgorithms = 5;
  static constexpr size_t kChunk = 64 * 1024;

  Result Begin(const CryptoProvider& provider, const PeImage& image, const DigestAlg* algs,
               size_t alg_count);
  Result Run(const ImageSource& source, const PreemptionHook* hook, Error& error);
  // Writes DigestLength(alg) bytes; BufferTooSmall-free: out must hold kMaxDigestLength.
  Result Finish(DigestAlg alg, uint8_t* out);
  // Releases digests that will not be finished (error paths).
  void Abandon();
  size_t algorithm_count() const { return count_; }
  DigestAlg algorithm(size_t i) const { return algs_[i]; }

 private:
  const PeImage* image_ = nullptr;
  size_t count_ = 0;
  DigestAlg algs_[kMaxAlgorithms] = {};
  Digest digests_[kMaxAlgorithms];
  bool finished_[kMaxAlgorithms] = {};
  uint16_t range_ = 0;
  uint64_t range_done_ = 0;
};

// Convenience: one digest of a parsed image, without preemption.
Result ComputeImageDigest(const CryptoProvider& provider, const ImageSource& source,
                          const PeImage& image, DigestAlg alg, uint8_t* out, Error& error);

}  // namespace hvsig::pe
