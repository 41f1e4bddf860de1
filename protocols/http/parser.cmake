# xueliang_http_parser: the socket-free HTTP/1.1 message layer (request parsing, response
# building, URL helpers). Included by protocols/http/CMakeLists.txt; fuzzers link only this.
add_library(xueliang_http_parser STATIC
  ${CMAKE_CURRENT_LIST_DIR}/request_parser.cc
  ${CMAKE_CURRENT_LIST_DIR}/response.cc
  ${CMAKE_CURRENT_LIST_DIR}/url.cc)
target_include_directories(xueliang_http_parser PUBLIC ${CMAKE_SOURCE_DIR}/protocols)
target_link_libraries(xueliang_http_parser PUBLIC xueliang_base)
