# mbedTLS for the Cortex-M33: the few library sources smpfota needs, from the Debian source
# package that scripts/fetch_mbedtls_src.sh unpacks (never a copy in this repository),
# compiled with ports/baremetal/smpfota_mbedtls_config.h.
if(NOT EXISTS "${SMPFOTA_MBEDTLS_SRC}/library/sha256.c")
  message(FATAL_ERROR "mbedTLS sources not found in '${SMPFOTA_MBEDTLS_SRC}': run "
                      "scripts/bootstrap.sh (or scripts/fetch_mbedtls_src.sh DIR and pass "
                      "-DSMPFOTA_MBEDTLS_SRC=DIR)")
endif()
set(_mbedtls_sources sha256.c sha512.c base64.c platform_util.c
    # the secure channel (master_secure.elf): AES-CCM, HKDF-SHA256, a static allocation pool
    aes.c ccm.c cipher.c cipher_wrap.c md.c hkdf.c platform.c memory_buffer_alloc.c)
if(EXISTS "${SMPFOTA_MBEDTLS_SRC}/library/constant_time.c")
  list(APPEND _mbedtls_sources constant_time.c) # base64's table-free lookups (2.28, 3.x)
endif()
list(TRANSFORM _mbedtls_sources PREPEND "${SMPFOTA_MBEDTLS_SRC}/library/")
add_library(smpfota_mbedcrypto STATIC ${_mbedtls_sources})
target_include_directories(smpfota_mbedcrypto SYSTEM PUBLIC "${SMPFOTA_MBEDTLS_SRC}/include"
                           "${CMAKE_CURRENT_LIST_DIR}")
target_compile_definitions(smpfota_mbedcrypto PUBLIC
                           MBEDTLS_CONFIG_FILE="smpfota_mbedtls_config.h")
target_compile_options(smpfota_mbedcrypto PRIVATE -w) # its code, not held to our warnings
