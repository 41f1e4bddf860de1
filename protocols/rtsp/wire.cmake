# xueliang_rtsp_wire: RTSP byte-level code (message parser, URLs, Transport headers). No sockets
# or event loop, so unit tests and fuzzers link it alone. Idempotent: tests include it too.
if(TARGET xueliang_rtsp_wire)
  return()
endif()
include(${CMAKE_CURRENT_LIST_DIR}/../rtp/rtp.cmake)
if(NOT TARGET xueliang_http_parser)
  include(${CMAKE_CURRENT_LIST_DIR}/../http/parser.cmake)
endif()
add_library(xueliang_rtsp_wire STATIC
  ${CMAKE_CURRENT_LIST_DIR}/rtsp_message.cc
  ${CMAKE_CURRENT_LIST_DIR}/rtsp_headers.cc
  ${CMAKE_CURRENT_LIST_DIR}/rtsp_auth.cc)
target_include_directories(xueliang_rtsp_wire PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(xueliang_rtsp_wire PUBLIC xueliang_http_parser xueliang_rtp xueliang_base
  OpenSSL::Crypto)
