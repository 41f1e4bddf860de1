# xueliang_audio_transcoder: libavcodec audio decode -> libswresample -> libavcodec encode (AAC to
# Opus for WHEP viewers, Opus to AAC for WHIP streams). No sockets or event loop, so unit tests
# and benchmarks link it alone. Idempotent: tests and benchmarks include it too.
if(TARGET xueliang_audio_transcoder)
  return()
endif()
pkg_check_modules(XL_SWRESAMPLE REQUIRED IMPORTED_TARGET libswresample)
add_library(xueliang_audio_transcoder STATIC ${CMAKE_CURRENT_LIST_DIR}/audio_transcoder.cc)
target_include_directories(xueliang_audio_transcoder PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(xueliang_audio_transcoder PUBLIC xueliang_base PkgConfig::LIBAV
  PkgConfig::XL_SWRESAMPLE)

# xueliang_webrtc_output: the "webrtc" output format's muxer (the rtsp module's RTP packets, AAC
# transcoded to Opus), apart from the sessions so its unit tests link only this.
add_library(xueliang_webrtc_output STATIC ${CMAKE_CURRENT_LIST_DIR}/webrtc_muxer.cc)
target_link_libraries(xueliang_webrtc_output PUBLIC xueliang_audio_transcoder xueliang_rtsp)
