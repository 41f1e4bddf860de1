// The admin API's content, independent of the transport that serves it: JSON documents for
// /api/v1 and Prometheus text for /metrics, built from the server's registries.
#pragma once

#include <functional>
#include <string>
#include <utility>

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

// Pulled sources (GET /api/v1/sources): state, last error, next attempt, counters; URLs without
// passwords.
std::string sourcesJson(const ServerContext& ctx);
// POST /api/v1/sources: a JSON object with the [[sources]] keys. Returns the HTTP status (201,
// 400 with the reason, 409 when the name is taken) and a JSON body.
std::pair<int, std::string> addSource(const ServerContext& ctx, const std::string& body);
// DELETE /api/v1/sources/{app}/{stream}: stops the source and ends its stream.
bool removeSource(const ServerContext& ctx, const std::string& name);

}  // namespace xl::admin
