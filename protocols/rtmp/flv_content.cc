#include "rtmp/flv_content.h"

namespace xl::rtmp {

void forEachHeaderTag(const MediaInfo& info,
                      const std::function<void(uint8_t, std::span<const uint8_t>)>& emit) {
  FlvMetadata m;
  m.encoder = "Xueliang";
  if (info.video) {
    m.width = info.video->width;
    m.height = info.video->height;
    m.framerate = info.video->fps;
    m.videoCodecId = info.video->codec == Codec::kH264 ? kFlvCodecAvc : fourcc("hvc1");
  }
  if (info.audio) {
    m.audioCodecId = info.audio->codec == Codec::kAAC     ? kFlvSoundAac
                     : info.audio->codec == Codec::kG711A ? kFlvSoundG711A
                                                          : kFlvSoundG711U;
    m.audioSampleRate = info.audio->sampleRate;
    m.audioChannels = info.audio->channels;
  }
  BufferWriter w(512);
  writeOnMetaDataBody(w, m);
  emit(kFlvTagScript, {w.data(), w.size()});
  if (info.video && info.video->config) {
    w.clear();
    if (writeVideoConfigTag(w, info.video->codec, info.video->config.span()))
      emit(kFlvTagVideo, {w.data(), w.size()});
  }
  if (info.audio && info.audio->codec == Codec::kAAC && info.audio->config) {
    w.clear();
    if (writeAacConfigTag(w, info.audio->config.span())) emit(kFlvTagAudio, {w.data(), w.size()});
  }
}

bool frameTagBody(BufferWriter& w, const Frame& f) {
  Status s = f.kind == MediaKind::kVideo ? writeVideoTag(w, f) : writeAudioTag(w, f);
  return s.isOk();
}

}  // namespace xl::rtmp
