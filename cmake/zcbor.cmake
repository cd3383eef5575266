# zcbor's C sources come from the pinned `zcbor` Python package (its wheel ships src/ and
# include/), installed by scripts/bootstrap.sh. We locate the package without importing it:
# its Python half needs an older cbor2 than the `smp` test package allows.
if(NOT ZCBOR_ROOT)
  execute_process(
    COMMAND "${SMPFOTA_PYTHON}" -c
      "import importlib.util as u; print(u.find_spec('zcbor').submodule_search_locations[0])"
    OUTPUT_VARIABLE ZCBOR_ROOT OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _zcbor_rc)
  if(NOT _zcbor_rc EQUAL 0 OR NOT EXISTS "${ZCBOR_ROOT}/src/zcbor_decode.c")
    message(FATAL_ERROR "zcbor C sources not found via ${SMPFOTA_PYTHON}; run scripts/bootstrap.sh "
                        "(or `make`), or pass -DZCBOR_ROOT=<dir with src/ and include/>")
  endif()
endif()
set(ZCBOR_ROOT "${ZCBOR_ROOT}" CACHE PATH "zcbor source root (src/, include/)")
message(STATUS "zcbor: ${ZCBOR_ROOT}")

add_library(smpfota_zcbor STATIC
  ${ZCBOR_ROOT}/src/zcbor_common.c
  ${ZCBOR_ROOT}/src/zcbor_decode.c
  ${ZCBOR_ROOT}/src/zcbor_encode.c)
target_include_directories(smpfota_zcbor SYSTEM PUBLIC ${ZCBOR_ROOT}/include)
# Definite-length maps on encode (as cbor2 and most clients produce). The decoder is told per
# state not to enforce canonical form, so indefinite maps from Zephyr servers still decode.
target_compile_definitions(smpfota_zcbor PUBLIC ZCBOR_CANONICAL)
