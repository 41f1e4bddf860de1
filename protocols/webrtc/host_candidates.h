// The host candidates WHEP and WHIP answers list (RFC 8445 §5.1.1.1): the addresses the media
// socket serves, and a configured public (NAT 1:1) address. `[webrtc] listen_ip` decides the
// socket: "0.0.0.0" serves IPv4, "::" one dual-stack socket (IPv4 and IPv6), any other address
// only itself. Built from a given interface list so that tests can hand one in.
#pragma once

#include <string>
#include <vector>

#include "xueliang/status.h"

namespace xl::webrtc {

// How a numeric address may be used: as listen_ip (`wildcardOk`: 0.0.0.0 and :: bind every
// address) or as a candidate such as public_ip. Refused: non-numeric text, IPv6 link-local
// (fe80::/10: browsers cannot use it without its interface scope), IPv4-mapped IPv6 (the IPv4
// form is the address; a dual-stack socket takes it as such) and, unless `wildcardOk`, the
// wildcards. Returns the canonical text ("0:0::1" -> "::1").
Result<std::string> checkIpAddress(const std::string& ip, bool wildcardOk);

// True for an IPv6 literal (it has a colon): "[ip]:port" when joined with a port.
bool isIpv6(const std::string& ip);
// "ip:port", or "[ip]:port" for IPv6.
std::string joinHostPort(const std::string& ip, int port);

// The answer's host candidate addresses, in the order listed: `publicIp` first (when set), then
// for a wildcard `listenIp` every address of `interfaces` (numeric, as the system lists them)
// the socket serves (IPv4 only for 0.0.0.0; IPv6, then IPv4 for ::), loopback last so that a
// browser elsewhere tries the others first, and for any other `listenIp` that address alone.
// Never listed: IPv6 link-local, IPv4-mapped, unspecified or unparsable addresses; each address
// appears once.
std::vector<std::string> hostCandidates(const std::string& listenIp, const std::string& publicIp,
                                        const std::vector<std::string>& interfaces);

}  // namespace xl::webrtc
