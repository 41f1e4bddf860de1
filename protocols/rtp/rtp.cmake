# xueliang_rtp: RTP/RTCP views, per-codec packetizers and depacketizers, SDP. No sockets or event
# loop, so the RTSP server, the pull client, unit tests and fuzzers all link it alone.
# Idempotent: tests include it too, so they build before (or without) protocols/rtp/CMakeLists.txt.
if(TARGET xueliang_rtp)
  return()
endif()
add_library(xueliang_rtp STATIC
  ${CMAKE_CURRENT_LIST_DIR}/rtp_packet.cc
  ${CMAKE_CURRENT_LIST_DIR}/rtcp.cc
  ${CMAKE_CURRENT_LIST_DIR}/packetizer.cc
  ${CMAKE_CURRENT_LIST_DIR}/depacketizer_video.cc
  ${CMAKE_CURRENT_LIST_DIR}/depacketizer_audio.cc
  ${CMAKE_CURRENT_LIST_DIR}/sdp.cc
  ${CMAKE_CURRENT_LIST_DIR}/sdp_media.cc)
# Headers are included as "rtp/rtp_packet.h" (the protocols/ folder is the include root).
target_include_directories(xueliang_rtp PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(xueliang_rtp PUBLIC xueliang_base)
