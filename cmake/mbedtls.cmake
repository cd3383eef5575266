# mbedTLS from the system (Debian libmbedtls-dev); only libmbedcrypto is needed (SHA-256).
find_path(MBEDTLS_INCLUDE_DIR mbedtls/sha256.h REQUIRED)
find_library(MBEDCRYPTO_LIBRARY mbedcrypto REQUIRED)
add_library(smpfota_mbedcrypto INTERFACE)
target_include_directories(smpfota_mbedcrypto SYSTEM INTERFACE ${MBEDTLS_INCLUDE_DIR})
target_link_libraries(smpfota_mbedcrypto INTERFACE ${MBEDCRYPTO_LIBRARY})
