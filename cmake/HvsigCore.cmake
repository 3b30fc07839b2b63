# The verification core is built twice from the same sources:
#  - hvsig_core: hosted static library linked by tools, tests and the hypervisor model;
#  - hvsig_core_freestanding: the same code with the flags Xen's x86 build uses, proving it can
#    be linked into a hypervisor (see tests/freestanding_check.sh).
# Each component is its own static library so that a component's tests link only what they use.

set(HVSIG_CORE_LANGUAGE_FLAGS -fno-exceptions -fno-rtti -fno-threadsafe-statics)
# Xen's x86 flags (xen/arch/x86/arch.mk): -fpic with hidden visibility (as Xen's compiler.h), so
# the objects also link into position-independent images such as hvsig-verify.efi; retpoline
# thunks through registers; CET-IBT with -mmanual-endbr (CONFIG_XEN_IBT), where only functions
# marked HVSIG_CF_CHECK (include/hvsig/cf_check.h) may be reached by an indirect call.
# -fstack-usage and -fcallgraph-info feed tests/freestanding_check.sh and tests/stack_depth.py.
# HVSIG_FREESTANDING_OPT: -O2 as Xen builds; the preset freestanding-os measures size at -Os.
set(HVSIG_FREESTANDING_OPT -O2 CACHE STRING "Optimization flag of the freestanding core")
set(HVSIG_FREESTANDING_FLAGS
  ${HVSIG_CORE_LANGUAGE_FLAGS}
  -ffreestanding -fno-asynchronous-unwind-tables -mno-red-zone -mno-sse -mno-mmx
  -fno-jump-tables -mindirect-branch=thunk-extern -mindirect-branch-register
  -fcf-protection=branch -mmanual-endbr -mpreferred-stack-boundary=3
  -fstack-usage -fcallgraph-info=su
  -fno-stack-protector -fpic -include ${CMAKE_SOURCE_DIR}/src/core/freestanding_prefix.h
  ${HVSIG_FREESTANDING_OPT})

# hvsig_core_component(NAME SOURCES a.cpp ... [SIMD_SOURCES x.cpp ... SIMD_FLAGS -m...] [DEPS hvsig_x ...])
# SIMD sources exist only in the hosted build; they are compiled with SIMD_FLAGS and the
# component gets HVSIG_HAVE_SIMD=1 so its dispatcher may call them.
function(hvsig_core_component name)
  cmake_parse_arguments(A "" "" "SOURCES;SIMD_SOURCES;SIMD_FLAGS;DEPS" ${ARGN})
  add_library(hvsig_${name} STATIC ${A_SOURCES} ${A_SIMD_SOURCES})
  target_link_libraries(hvsig_${name} PUBLIC hvsig_headers ${A_DEPS})
  target_include_directories(hvsig_${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(hvsig_${name} PRIVATE ${HVSIG_CORE_LANGUAGE_FLAGS})
  if(A_SIMD_SOURCES)
    set_source_files_properties(${A_SIMD_SOURCES} PROPERTIES COMPILE_OPTIONS "${A_SIMD_FLAGS}")
    target_compile_definitions(hvsig_${name} PRIVATE HVSIG_HAVE_SIMD=1)
  endif()
  set_property(GLOBAL APPEND PROPERTY HVSIG_CORE_COMPONENTS hvsig_${name})

  if(HVSIG_BUILD_FREESTANDING)
    add_library(hvsig_${name}_fs OBJECT ${A_SOURCES})
    target_link_libraries(hvsig_${name}_fs PRIVATE hvsig_headers)
    target_include_directories(hvsig_${name}_fs PRIVATE ${CMAKE_SOURCE_DIR}/src)
    target_compile_options(hvsig_${name}_fs PRIVATE ${HVSIG_FREESTANDING_FLAGS})
    target_compile_definitions(hvsig_${name}_fs PRIVATE HVSIG_FREESTANDING=1)
    # ccache answers a cached object without writing the -fcallgraph-info file the stack-depth
    # check reads, so these objects are always compiled.
    set_target_properties(hvsig_${name}_fs PROPERTIES CXX_COMPILER_LAUNCHER "" C_COMPILER_LAUNCHER "")
    set_property(GLOBAL APPEND PROPERTY HVSIG_FS_OBJECTS $<TARGET_OBJECTS:hvsig_${name}_fs>)
  endif()
endfunction()

function(hvsig_finish_core)
  get_property(components GLOBAL PROPERTY HVSIG_CORE_COMPONENTS)
  add_library(hvsig_core INTERFACE)
  target_link_libraries(hvsig_core INTERFACE ${components})
  if(HVSIG_BUILD_FREESTANDING)
    get_property(objects GLOBAL PROPERTY HVSIG_FS_OBJECTS)
    add_library(hvsig_core_freestanding STATIC ${objects})
    set_target_properties(hvsig_core_freestanding PROPERTIES LINKER_LANGUAGE CXX)
  endif()
endfunction()
