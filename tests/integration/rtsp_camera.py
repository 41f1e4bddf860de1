"""An independent RTSP camera for the pull tests: GStreamer's gst-rtsp-server (through
python3-gi) serving a live H.264 test pattern (optionally with AAC, G.711 A-law or mu-law audio),
protected by a user and password (Digest by default). It prints one line per event on stdout,
which the tests read:
    READY <port>
    CLIENT-CONNECTED <total>
    SESSION-EXPIRED <total>      (sessions the camera timed out for lack of keep-alives)
Usage: rtsp_camera.py --port N [--path /cam] [--user U --password P] [--auth digest|basic]
                      [--audio [aac|pcma|pcmu]] [--tcp-only] [--inband-only]
                      [--session-timeout S]
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/cam")
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--auth", choices=("digest", "basic"), default="digest")
    ap.add_argument("--audio", nargs="?", const="aac", choices=("aac", "pcma", "pcmu"))
    ap.add_argument("--inband-only", action="store_true",
                    help="SPS/PPS before every keyframe (config-interval=-1), as cameras do that "
                         "leave them out of the SDP")
    ap.add_argument("--session-timeout", type=int, default=0,
                    help="seconds; sessions without a keep-alive for that long are removed")
    ap.add_argument("--tcp-only", action="store_true", help="refuse RTP over UDP (461)")
    ap.add_argument("--unshared", action="store_true",
                    help="one pipeline per client: gst-rtsp-server 1.22 aborts when UDP PLAYs of "
                         "shared media overlap")
    args = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))

    video = ("videotestsrc is-live=true pattern=ball ! "
             "video/x-raw,width=320,height=240,framerate=25/1 ! "
             "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=400 ! "
             "video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=" +
             ("-1" if args.inband_only else "1"))
    tone = " audiotestsrc is-live=true wave=sine samplesperbuffer={n} ! audio/x-raw,rate={r},channels=1 ! "
    audio = {
        None: "",
        "aac": tone.format(n=1024, r=44100) + "avenc_aac ! aacparse ! rtpmp4gpay name=pay1 pt=97",
        # 20 ms packets, as G.711 cameras send
        "pcma": tone.format(n=160, r=8000) + "alawenc ! rtppcmapay name=pay1",
        "pcmu": tone.format(n=160, r=8000) + "mulawenc ! rtppcmupay name=pay1",
    }[args.audio]
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch("( " + video + audio + " )")
    factory.set_shared(not args.unshared)  # one pipeline for every client, as a camera has
    if args.tcp_only:
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)

    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        if args.auth == "digest":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(args.user, args.password, token)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
        factory.add_role_from_structure(Gst.Structure.new_from_string(
            "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))

    server.get_mount_points().add_factory(args.path, factory)
    clients = 0

    def on_client(_server, _client):
        nonlocal clients
        clients += 1
        print(f"CLIENT-CONNECTED {clients}", flush=True)

    server.connect("client-connected", on_client)

    if args.session_timeout:
        expired = 0

        def on_session(_client, session):
            session.set_timeout(args.session_timeout)

        def sweep():
            nonlocal expired
            n = server.get_session_pool().cleanup()
            if n:
                expired += n
                print(f"SESSION-EXPIRED {expired}", flush=True)
            return True

        server.connect("client-connected", lambda _s, c: c.connect("new-session", on_session))
        GLib.timeout_add(250, sweep)
    if server.attach(None) == 0:
        print("attach failed", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"READY {args.port}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
