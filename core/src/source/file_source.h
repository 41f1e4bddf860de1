// FileSource: publishes a media file as a live stream, looping, paced in real time. Used for the
// built-in demo stream. libavformat's blocking reads run on the source's own thread; frames are
// posted to the stream's worker, which alone touches the Stream.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "xueliang/protocol.h"

namespace xl {

struct OpenedFile;

struct FileSourceConfig {
  std::string name;  // "{app}/{stream}"
  std::string file;
  bool loop = true;
};

class FileSource {
 public:
  FileSource(FileSourceConfig cfg, ServerContext& ctx, Worker& owner);
  ~FileSource();
  // Opens the file and publishes the stream; call before the owner worker runs.
  Status start();
  void stop();

 private:
  void run(struct OpenedFile o);

  FileSourceConfig cfg_;
  ServerContext& ctx_;
  Worker& owner_;
  StreamPtr stream_;  // owner worker only
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

}  // namespace xl
