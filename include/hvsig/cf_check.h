// CET indirect branch tracking. Xen builds with -fcf-protection=branch -mmanual-endbr: only
// functions marked cf_check start with ENDBR64, and an indirect call to any other faults. Every
// function the core or an embedder reaches through a pointer (the CryptoProvider table,
// ImageSource::view, VectorUnitHooks, the core's own dispatch tables) carries HVSIG_CF_CHECK;
// tests/freestanding_ibt.py fails the build's check if one is missing. Compilers without the
// attribute (clang) get nothing: there the annotation has no effect anyway.
#pragma once

#if defined(__has_attribute)
#if __has_attribute(cf_check)
#define HVSIG_CF_CHECK __attribute__((cf_check))
#endif
#endif
#ifndef HVSIG_CF_CHECK
#define HVSIG_CF_CHECK
#endif
