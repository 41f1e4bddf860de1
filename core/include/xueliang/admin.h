// The admin API's content, independent of the transport that serves it: JSON documents for
// /api/v1 and Prometheus text for /metrics, built from the server's registries.
#pragma once

#include <functional>
#include <string>

#include "xueliang/protocol.h"

namespace xl::admin {

std::string streamsJson(const ServerContext& ctx);
// Empty when the stream is not live.
std::string streamJson(const ServerContext& ctx, const std::string& name);
// Asks the stream's worker to drop the publisher. False when the stream is not live.
bool kickStream(const ServerContext& ctx, const std::string& name);
// Gathers every worker's sessions (each on its own thread) and calls `done` on `replyOn`.
void collectSessionsJson(ServerContext& ctx, Worker& replyOn,
                         std::function<void(std::string)> done);
std::string metricsText(const ServerContext& ctx);

}  // namespace xl::admin
