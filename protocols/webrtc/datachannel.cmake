# xueliang_webrtc_sctp: SCTP over DTLS on usrsctp and the data channel protocol (DCEP). No event
# loop (tasks go to an executor), so unit tests and fuzzers link it alone. Idempotent.
if(TARGET xueliang_webrtc_sctp)
  return()
endif()
include(${CMAKE_CURRENT_LIST_DIR}/wire.cmake)
pkg_check_modules(USRSCTP REQUIRED IMPORTED_TARGET usrsctp)
find_package(Threads REQUIRED)
add_library(xueliang_webrtc_sctp STATIC
  ${CMAKE_CURRENT_LIST_DIR}/sctp_association.cc
  ${CMAKE_CURRENT_LIST_DIR}/data_channel.cc)
target_link_libraries(xueliang_webrtc_sctp PUBLIC xueliang_webrtc_wire PkgConfig::USRSCTP
  Threads::Threads)
