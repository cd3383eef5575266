# The secure channel's pre-shared key (CONFIG_SMPFOTA_SECURE_KEY_FILE) as a C header for
# zephyr/src/secure_psk.c. The key file is what `smpfota keygen` writes and `--key` reads:
# 32 hex digits, whitespace around them allowed (ports/posix/keyfile.c). No message ever
# shows the key. Also a script, so the host tests run it:
#   cmake -DSMPFOTA_PSK_FILE=site.key -DSMPFOTA_PSK_HEADER=out.h -P smpfota_psk.cmake
if(CMAKE_SCRIPT_MODE_FILE)
  cmake_minimum_required(VERSION 3.20) # Zephyr's minimum; its policies in a build
endif()

function(smpfota_psk_header key_file header)
  if(key_file STREQUAL "")
    message(FATAL_ERROR "smpfota: CONFIG_SMPFOTA_SECURE is on but CONFIG_SMPFOTA_SECURE_KEY_FILE "
                        "is empty: name the key file (smpfota keygen FILE writes one)")
  endif()
  if(NOT EXISTS "${key_file}" OR IS_DIRECTORY "${key_file}")
    message(FATAL_ERROR "smpfota: CONFIG_SMPFOTA_SECURE_KEY_FILE: no file ${key_file} "
                        "(smpfota keygen FILE writes one; both boards need the same)")
  endif()
  file(READ "${key_file}" text LIMIT 128)
  string(STRIP "${text}" hex)
  string(LENGTH "${hex}" digits)
  if(NOT digits EQUAL 32 OR NOT hex MATCHES "^[0-9a-fA-F]+$")
    message(FATAL_ERROR "smpfota: ${key_file}: a key file holds 32 hex digits and nothing "
                        "else (smpfota keygen FILE)")
  endif()
  string(REGEX REPLACE "([0-9a-fA-F][0-9a-fA-F])" "0x\\1, " SMPFOTA_PSK_BYTES "${hex}")
  string(REGEX REPLACE ", $" "" SMPFOTA_PSK_BYTES "${SMPFOTA_PSK_BYTES}")
  # Written only when it changes: a rebuild with the same key recompiles nothing.
  file(CONFIGURE OUTPUT "${header}" @ONLY CONTENT
"/* Generated from CONFIG_SMPFOTA_SECURE_KEY_FILE by zephyr/cmake/smpfota_psk.cmake: the
 * secure channel's pre-shared key. A secret: it lives in the build directory only. */
#define SMPFOTA_PSK_BYTES @SMPFOTA_PSK_BYTES@
")
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND DEFINED SMPFOTA_PSK_FILE)
  smpfota_psk_header("${SMPFOTA_PSK_FILE}" "${SMPFOTA_PSK_HEADER}")
endif()
