// UEFI signature databases: format detection, every container (bare ESL, efivarfs, .auth,
// OVMF variable store) and the EFI_SIGNATURE_LIST reader, then the keyring loader over the
// lists found.
#include "fuzz_support.h"
#include "hvsig/efi.h"
#include "hvsig/keyring.h"

namespace {

using namespace hvsig;

struct State {
  efi::SignatureEntry entry;
  keyring::Keyring platform;
  keyring::Keyring blacklist;
};

// Every entry of lists; the reader's own bounds promises checked.
void ReadLists(State& s, Input lists, uint64_t offset) {
  efi::SignatureListReader reader(fuzz::Provider(), lists, offset);
  size_t entries = 0;
  while (!reader.AtEnd()) {
    Error error;
    if (reader.Next(s.entry, error) != Result::Success) {
      HVSIG_FUZZ_CHECK(error.offset <= offset + lists.size());
      Error again;
      HVSIG_FUZZ_CHECK(reader.Next(s.entry, again) != Result::Success);
      break;
    }
    const efi::SignatureEntry& e = s.entry;
    HVSIG_FUZZ_CHECK(e.data.data() >= lists.begin() && e.data.end() <= lists.end());
    DigestAlg alg;
    if (efi::SignatureTypeDigest(e.type, alg)) HVSIG_FUZZ_CHECK(e.hash.size() == DigestLength(alg));
    HVSIG_FUZZ_CHECK(++entries <= lists.size() / 17);
  }
  size_t count = 0;
  Error error;
  if (efi::ValidateSignatureLists(fuzz::Provider(), lists, offset, count, error) == Result::Success) {
    HVSIG_FUZZ_CHECK(count == entries);
  }
  for (keyring::Keyring* ring : {&s.platform, &s.blacklist}) {
    const size_t before = ring->certificate_count + ring->hash_count;
    const keyring::Origin origin = ring == &s.platform ? keyring::Origin::Db : keyring::Origin::Dbx;
    if (keyring::AddSignatureLists(fuzz::Provider(), *ring, lists, offset, origin, error) !=
        Result::Success) {
      // All or nothing: a refused database leaves the keyring as it was.
      HVSIG_FUZZ_CHECK(ring->certificate_count + ring->hash_count == before);
    }
  }
}

}  // namespace

HVSIG_FUZZ_TARGET(esl) {
  static State* state = new State();
  State& s = *state;
  keyring::Init(s.platform, keyring::KeyringId::Platform);
  keyring::Init(s.blacklist, keyring::KeyringId::Blacklist);
  const Input file(data, size);

  (void)efi::DetectVariableFormat(file);
  ReadLists(s, file, 0);

  Error error;
  efi::EfivarfsFile efivarfs;
  if (efi::ParseEfivarfs(file, efivarfs, error) == Result::Success) {
    HVSIG_FUZZ_CHECK(efivarfs.data_offset + efivarfs.data.size() == size);
  }
  efi::AuthenticatedVariable auth;
  if (efi::ParseAuthenticatedVariable(file, auth, error) == Result::Success) {
    HVSIG_FUZZ_CHECK(auth.data.data() >= file.begin() && auth.data.end() == file.end());
    ReadLists(s, auth.data, auth.data_offset);
  }
  efi::VariableStore store;
  if (efi::ParseVariableStore(file, store, error) == Result::Success) {
    efi::VariableStoreReader reader(store);
    size_t variables = 0;
    efi::StoredVariable variable;
    while (!reader.AtEnd() && reader.Next(variable, error) == Result::Success) {
      HVSIG_FUZZ_CHECK(variable.data.data() >= file.begin() && variable.data.end() <= file.end());
      HVSIG_FUZZ_CHECK(++variables <= size / 8);
    }
  }
  for (const char* variable : {"db", "dbx", "MokList", "KEK"}) {
    efi::SignatureDatabase database;
    if (efi::OpenSignatureDatabase(file, efi::VariableFormat::Auto, variable, database, error) ==
        Result::Success) {
      ReadLists(s, database.lists, database.lists_offset);
    }
  }
  return 0;
}
