// Owning pointers to libcrypto objects, each freed by its own *_free function: one definition
// for the OpenSSL provider, the signing tools and the tests.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace hvsig::openssl {

template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};

// Owned<EC_GROUP, EC_GROUP_free> and the like, for types beyond the common ones below.
template <typename T, auto Free>
using Owned = std::unique_ptr<T, FreeWith<Free>>;

using BioPtr = Owned<BIO, BIO_free>;
using BnPtr = Owned<BIGNUM, BN_free>;
using MdCtxPtr = Owned<EVP_MD_CTX, EVP_MD_CTX_free>;
using PkeyCtxPtr = Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = Owned<X509, X509_free>;

}  // namespace hvsig::openssl
