# xueliang_hls_media: TS muxer, fMP4 writer, segmenter, playlists and request
# parsing. No sockets or event loop, so unit tests and fuzzers link it alone. Included by
# protocols/hls/CMakeLists.txt and by the tests (idempotent).
if(TARGET xueliang_hls_media)
  return()
endif()
add_library(xueliang_hls_media STATIC
  ${CMAKE_CURRENT_LIST_DIR}/ts_muxer.cc
  ${CMAKE_CURRENT_LIST_DIR}/segment_writer.cc
  ${CMAKE_CURRENT_LIST_DIR}/fmp4_writer.cc
  ${CMAKE_CURRENT_LIST_DIR}/mp4_boxes.cc
  ${CMAKE_CURRENT_LIST_DIR}/playlist.cc
  ${CMAKE_CURRENT_LIST_DIR}/segmenter.cc
  ${CMAKE_CURRENT_LIST_DIR}/hls_request.cc)
target_include_directories(xueliang_hls_media PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(xueliang_hls_media PUBLIC xueliang_http_parser xueliang_base)
