# xueliang_rtmp_wire: RTMP byte-level code (AMF0, handshake, chunking, FLV tags). No sockets or
# event loop, so unit tests and fuzzers link it alone. Included by protocols/rtmp/CMakeLists.txt.
# Idempotent: tests include it too, so they build before (or without) the session's CMakeLists.
if(TARGET xueliang_rtmp_wire)
  return()
endif()
add_library(xueliang_rtmp_wire STATIC
  ${CMAKE_CURRENT_LIST_DIR}/amf0.cc
  ${CMAKE_CURRENT_LIST_DIR}/handshake.cc
  ${CMAKE_CURRENT_LIST_DIR}/chunk_reader.cc
  ${CMAKE_CURRENT_LIST_DIR}/chunk_writer.cc
  ${CMAKE_CURRENT_LIST_DIR}/flv_tag.cc)
# Headers are included as "rtmp/amf0.h" (the protocols/ folder is the include root).
target_include_directories(xueliang_rtmp_wire PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(xueliang_rtmp_wire PUBLIC xueliang_base OpenSSL::Crypto)
