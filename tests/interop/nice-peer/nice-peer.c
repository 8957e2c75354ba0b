/*
 * nice-peer: a stand-in for the ORIGINAL P2P program (a C program on GLib + libnice), written from
 * the behaviour described in shared/FEATURES.md ("The original on the wire"), so that `p2p` can be
 * tested against it (F9). Build: tests/interop/nice-peer/build.sh -> bin/nice-peer.
 *
 * Command line (same spellings and defaults as the original):
 *   -s                  server mode (ICE: controlling; --no-ice: listen and accept ONE connection)
 *   -p <port>           TCP port for --no-ice (default 8080)
 *   -c <ip>             server address for the --no-ice client (default 127.0.0.1)
 *   --no-ice            direct TCP chat, no NAT traversal
 *   --stun <server>     STUN server            --stun-port <port>  (default 19302)
 *   --turn <server>     TURN server (UDP)      --turn-port <port>  (default 3478)
 *   --turn-user <u>     --turn-pass <p>
 *   --help
 *
 * Behaviour:
 *   --no-ice   server binds 0.0.0.0:<port>, accepts one TCP connection; client connects to <ip>:<port>.
 *              Each stdin line is sent as is, newline included, no framing. Whatever arrives is printed
 *              "Received: <text>" (a newline is added if the chunk does not end with one). Peer closing
 *              the socket prints "Connection closed by peer" and exits 0; stdin EOF closes the socket and
 *              exits 0.
 *   ICE mode   libnice agent, NICE_COMPATIBILITY_RFC5245, one stream, one component; -s is controlling.
 *              After gathering, prints nice_agent_generate_local_sdp() text exactly, then an empty line.
 *              Reads the remote block from stdin up to the first empty line (or EOF) and hands it to
 *              nice_agent_parse_remote_sdp() (failure: message on stderr, exit 1). On component state
 *              READY prints "Connected" on stdout; then each stdin line (without its newline) is sent
 *              with nice_agent_send() as ONE datagram and every datagram received is printed
 *              "Received: <text>". Not READY within --timeout seconds after the remote block was parsed:
 *              "Failed to connect. Try using a TURN server with --turn ..." on stderr, exit 1.
 *              Stdin EOF after connecting: waits 1 s for in-flight datagrams, exits 0.
 *
 * Output streams: stdout carries only the description block (+ empty line), "Connected",
 * "Received: ..." and "Connection closed by peer"; every other status or error message goes to stderr.
 * stdout is line-buffered and flushed after every write.
 *
 * DIFFERENCES FROM THE ORIGINAL (deliberate, for testing):
 *   - --stun/--stun-port and --turn* are HONOURED (the original parsed them but used compiled-in
 *     defaults: a bug).
 *   - No STUN server is used unless --stun is given (the original defaulted to stun.l.google.com; this
 *     stand-in never contacts a public server by itself).
 *   - --local-address <ip> (default 127.0.0.1): the only address handed to nice_agent_add_local_address
 *     (libnice gathers nothing in a loopback-only namespace without it). UPnP is off. ICE-TCP stays on
 *     (libnice's default), so TCP active/passive candidates are printed like the original's.
 *   - --relay-only: use only the TURN relay candidate (libnice's "force-relay" property when it exists,
 *     otherwise host/srflx candidates are dropped from the printed description). Needs --turn.
 *   - --timeout <s> (default 30, the original's fixed value).
 *   - "Connected" is printed on stdout once the component is READY (also once the --no-ice TCP
 *     connection is up); "Listening on 0.0.0.0:<port>" goes to stderr in --no-ice server mode.
 *   - Stdin is read through a GIOChannel watch on the GLib main loop (never a blocking read), so
 *     received datagrams are not starved. After READY the selected UDP socket's receive buffer is
 *     raised to 4 MiB (SO_RCVBUF, capped by net.core.rmem_max; the kernel reports twice the value) when
 *     libnice exposes it (nice_agent_get_selected_socket; it does not for TCP or relayed pairs), and
 *     the size obtained is reported on stderr. Before READY libnice gives no access to its sockets.
 *     Lines typed before READY are kept in the pipe and sent once connected; a last line without a
 *     newline is sent at EOF.
 *   - A remote block that libnice accepts with zero candidates is refused like a parse failure.
 *   - The --timeout clock starts when the remote block has been parsed (the wait for the user to
 *     paste is not counted).
 *   - STUN/TURN server names are resolved to IPv4 with getaddrinfo (libnice wants numeric addresses).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>
#include <nice/agent.h>

#define FAIL_HINT "Failed to connect. Try using a TURN server with --turn ..."

typedef struct {
    gboolean server;
    int port;
    const char *connect_ip;
    gboolean no_ice;
    const char *stun_server;
    int stun_port;
    const char *turn_server;
    int turn_port;
    const char *turn_user;
    const char *turn_pass;
    const char *local_address;
    gboolean relay_only;
    int timeout;
} Options;

static Options opt = {
    .server = FALSE,
    .port = 8080,
    .connect_ip = "127.0.0.1",
    .no_ice = FALSE,
    .stun_server = NULL,
    .stun_port = 19302,
    .turn_server = NULL,
    .turn_port = 3478,
    .turn_user = NULL,
    .turn_pass = NULL,
    .local_address = "127.0.0.1",
    .relay_only = FALSE,
    .timeout = 30,
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nice-peer [options]\n"
            "  -s                   server mode (ICE: controlling side)\n"
            "  -p <port>            port for --no-ice (default 8080)\n"
            "  -c <ip>              server address for the --no-ice client (default 127.0.0.1)\n"
            "  --no-ice             direct TCP messaging, no NAT traversal\n"
            "  --stun <server>      STUN server (default: none in this stand-in; the original used stun.l.google.com)\n"
            "  --stun-port <port>   STUN port (default 19302)\n"
            "  --turn <server>      TURN server (UDP)\n"
            "  --turn-port <port>   TURN port (default 3478)\n"
            "  --turn-user <user>   TURN username\n"
            "  --turn-pass <pass>   TURN password\n"
            "  --local-address <ip> local address for ICE candidates (default 127.0.0.1)  [stand-in only]\n"
            "  --relay-only         use only the TURN relay candidate (needs --turn)     [stand-in only]\n"
            "  --timeout <s>        give up if not connected after <s> seconds (default 30) [stand-in only]\n"
            "  --help               show this help\n");
}

static void out_line(const char *prefix, const char *data, gsize len)
{
    fputs(prefix, stdout);
    fwrite(data, 1, len, stdout);
    if (len == 0 || data[len - 1] != '\n')
        fputc('\n', stdout);
    fflush(stdout);
}

static gboolean parse_int(const char *s, int min, int max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return FALSE;
    *out = (int)v;
    return TRUE;
}

/* Resolves a host name or literal to a numeric IPv4 string (libnice wants numbers). */
static gboolean resolve_ipv4(const char *host, char *buf, size_t buflen)
{
    struct addrinfo hints = { 0 }, *res = NULL;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
        return FALSE;
    struct sockaddr_in *sin = (struct sockaddr_in *)res->ai_addr;
    gboolean ok = inet_ntop(AF_INET, &sin->sin_addr, buf, buflen) != NULL;
    freeaddrinfo(res);
    return ok;
}

/* ------------------------------------------------------------------ --no-ice */

static int send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int run_no_ice(void)
{
    int fd;
    if (opt.server) {
        int lfd = socket(AF_INET, SOCK_STREAM, 0);
        if (lfd < 0) {
            perror("socket");
            return 1;
        }
        int one = 1;
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in addr = { 0 };
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_ANY);
        addr.sin_port = htons((uint16_t)opt.port);
        if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) {
            fprintf(stderr, "Cannot listen on port %d: %s. Try another port with -p.\n", opt.port, strerror(errno));
            close(lfd);
            return 1;
        }
        if (listen(lfd, 1) < 0) {
            fprintf(stderr, "Cannot listen on port %d: %s.\n", opt.port, strerror(errno));
            close(lfd);
            return 1;
        }
        socklen_t alen = sizeof addr;
        getsockname(lfd, (struct sockaddr *)&addr, &alen);
        fprintf(stderr, "Listening on 0.0.0.0:%d\n", ntohs(addr.sin_port));
        fflush(stderr);
        do {
            fd = accept(lfd, NULL, NULL);
        } while (fd < 0 && errno == EINTR);
        close(lfd);
        if (fd < 0) {
            perror("accept");
            return 1;
        }
    } else {
        struct addrinfo hints = { 0 }, *res = NULL;
        char port[16];
        snprintf(port, sizeof port, "%d", opt.port);
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(opt.connect_ip, port, &hints, &res) != 0 || res == NULL) {
            fprintf(stderr, "Cannot resolve %s. Check the address given with -c.\n", opt.connect_ip);
            return 1;
        }
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
            fprintf(stderr, "Cannot connect to %s:%d: %s. Is the server (-s --no-ice) running?\n",
                    opt.connect_ip, opt.port, strerror(errno));
            freeaddrinfo(res);
            if (fd >= 0)
                close(fd);
            return 1;
        }
        freeaddrinfo(res);
    }
    fputs("Connected\n", stdout);
    fflush(stdout);

    char buf[65536];
    char *line = NULL;
    size_t cap = 0;
    gboolean stdin_open = TRUE;
    for (;;) {
        struct pollfd fds[2] = { { .fd = fd, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
        int n = poll(fds, stdin_open ? 2 : 1, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            break;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                fputs("Connection closed by peer\n", stdout);
                fflush(stdout);
                break;
            }
            out_line("Received: ", buf, (gsize)r);
        }
        if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t len = getline(&line, &cap, stdin);
            if (len < 0) {
                /* stdin EOF: close the socket and leave */
                break;
            }
            if (send_all(fd, line, (size_t)len) < 0) {
                fputs("Connection closed by peer\n", stdout);
                fflush(stdout);
                break;
            }
        }
    }
    free(line);
    close(fd);
    return 0;
}

/* ----------------------------------------------------------------- ICE mode */

typedef enum { PHASE_GATHERING, PHASE_READING_REMOTE, PHASE_CONNECTING, PHASE_CONNECTED, PHASE_DRAINING } Phase;

static GMainLoop *loop;
static NiceAgent *agent;
static guint stream_id;
static GIOChannel *stdin_channel;
static guint stdin_watch;
static Phase phase = PHASE_GATHERING;
static GString *remote_block;
static guint timeout_source;
static int exit_code = 0;
static gboolean manual_relay_filter = FALSE;

static gboolean on_stdin(GIOChannel *source, GIOCondition cond, gpointer data);

static gboolean closing = FALSE;

static void on_agent_closed(GObject *source, GAsyncResult *res, gpointer data)
{
    (void)source; (void)res; (void)data;
    g_main_loop_quit(loop);
}

static gboolean on_close_stuck(gpointer data)
{
    (void)data;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

/* Ends the main loop once the agent has released its TURN allocations (nice_agent_close_async). */
static void quit(int code)
{
    if (closing)
        return;
    closing = TRUE;
    exit_code = code;
    nice_agent_close_async(agent, on_agent_closed, NULL);
    g_timeout_add(3000, on_close_stuck, NULL);
}

static void watch_stdin(void)
{
    if (stdin_watch == 0)
        stdin_watch = g_io_add_watch(stdin_channel, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, NULL);
}

static gboolean on_drained(gpointer data)
{
    (void)data;
    quit(0);
    return G_SOURCE_REMOVE;
}

static gboolean on_timeout(gpointer data)
{
    (void)data;
    timeout_source = 0;
    if (phase == PHASE_CONNECTING || phase == PHASE_READING_REMOTE) {
        fputs(FAIL_HINT "\n", stderr);
        quit(1);
    }
    return G_SOURCE_REMOVE;
}

/* Drops every candidate line that is not "typ relay" (only used without libnice's force-relay). */
static gchar *filter_relay_only(const gchar *sdp)
{
    GString *out = g_string_new(NULL);
    gchar **lines = g_strsplit(sdp, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        if (**l == '\0' && l[1] == NULL)
            break;
        if (g_str_has_prefix(*l, "a=candidate:") && strstr(*l, " typ relay") == NULL)
            continue;
        g_string_append(out, *l);
        g_string_append_c(out, '\n');
    }
    g_strfreev(lines);
    return g_string_free(out, FALSE);
}

static void on_gathering_done(NiceAgent *a, guint sid, gpointer data)
{
    (void)data;
    if (sid != stream_id || phase != PHASE_GATHERING)
        return;
    gchar *sdp = nice_agent_generate_local_sdp(a);
    if (sdp == NULL) {
        fputs("Could not generate the local description (no candidates gathered?).\n", stderr);
        quit(1);
        return;
    }
    if (manual_relay_filter) {
        gchar *filtered = filter_relay_only(sdp);
        g_free(sdp);
        sdp = filtered;
    }
    if (opt.relay_only && strstr(sdp, " typ relay") == NULL) {
        fputs("No relay candidate was gathered: the TURN server is unreachable or refused the credentials. "
              "Check --turn, --turn-port, --turn-user and --turn-pass.\n", stderr);
        g_free(sdp);
        quit(1);
        return;
    }
    fputs(sdp, stdout);
    if (sdp[0] != '\0' && sdp[strlen(sdp) - 1] != '\n')
        fputc('\n', stdout);
    fputc('\n', stdout);
    fflush(stdout);
    g_free(sdp);
    fputs("Paste the remote description, then an empty line:\n", stderr);
    fflush(stderr);
    phase = PHASE_READING_REMOTE;
    watch_stdin();
}

static void on_state_changed(NiceAgent *a, guint sid, guint cid, guint state, gpointer data)
{
    (void)data;
    if (sid != stream_id || cid != 1)
        return;
    if (state == NICE_COMPONENT_STATE_READY && phase == PHASE_CONNECTING) {
        phase = PHASE_CONNECTED;
        if (timeout_source) {
            g_source_remove(timeout_source);
            timeout_source = 0;
        }
        GSocket *sock = nice_agent_get_selected_socket(a, sid, cid);
        if (sock != NULL) {
            int size = 4 * 1024 * 1024, got = 0;
            socklen_t len = sizeof got;
            int fd = g_socket_get_fd(sock);
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
            getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
            fprintf(stderr, "Receive buffer of the selected socket: %d bytes.\n", got);
            g_object_unref(sock);
        }
        fputs("Connected\n", stdout);
        fflush(stdout);
        watch_stdin();
    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        fputs("ICE checks failed on every candidate pair (still waiting until the timeout).\n", stderr);
        fflush(stderr);
    }
}

static void on_receive(NiceAgent *a, guint sid, guint cid, guint len, gchar *buf, gpointer data)
{
    (void)a; (void)sid; (void)cid; (void)data;
    out_line("Received: ", buf, len);
}

static void remote_block_complete(void)
{
    if (remote_block->len == 0) {
        fputs("No remote description on stdin: paste the other side's block followed by an empty line.\n", stderr);
        quit(1);
        return;
    }
    int added = nice_agent_parse_remote_sdp(agent, remote_block->str);
    if (added <= 0) {
        fprintf(stderr, "Could not parse the remote description (nice_agent_parse_remote_sdp returned %d): "
                        "paste the whole block the other side printed, starting with its m= and c= lines.\n", added);
        quit(1);
        return;
    }
    fprintf(stderr, "Remote description accepted (%d candidates); connecting...\n", added);
    fflush(stderr);
    phase = PHASE_CONNECTING;
    timeout_source = g_timeout_add_seconds((guint)opt.timeout, on_timeout, NULL);
}

static gboolean on_stdin(GIOChannel *source, GIOCondition cond, gpointer data)
{
    (void)cond; (void)data;
    gchar *line = NULL;
    gsize len = 0, term = 0;
    GError *error = NULL;
    GIOStatus st = g_io_channel_read_line(source, &line, &len, &term, &error);
    if (st == G_IO_STATUS_AGAIN) {
        return G_SOURCE_CONTINUE;
    }
    if (st == G_IO_STATUS_ERROR) {
        fprintf(stderr, "Error reading stdin: %s\n", error ? error->message : "unknown");
        g_clear_error(&error);
        st = G_IO_STATUS_EOF;
    }
    if (st == G_IO_STATUS_EOF) {
        stdin_watch = 0;
        if (phase == PHASE_READING_REMOTE) {
            remote_block_complete();
        } else if (phase == PHASE_CONNECTED) {
            phase = PHASE_DRAINING;
            g_timeout_add(1000, on_drained, NULL);
        }
        return G_SOURCE_REMOVE;
    }
    if (line == NULL)
        return G_SOURCE_CONTINUE;
    line[term] = '\0';
    if (term > 0 && line[term - 1] == '\r')
        line[--term] = '\0';

    if (phase == PHASE_READING_REMOTE) {
        if (term == 0) {
            if (remote_block->len == 0) {
                g_free(line);
                return G_SOURCE_CONTINUE; /* leading empty lines: keep waiting for the block */
            }
            g_free(line);
            stdin_watch = 0;
            remote_block_complete();
            return G_SOURCE_REMOVE; /* lines typed before READY wait in the pipe */
        }
        g_string_append(remote_block, line);
        g_string_append_c(remote_block, '\n');
    } else if (phase == PHASE_CONNECTED) {
        int sent = nice_agent_send(agent, stream_id, 1, (guint)term, line);
        if (sent < 0)
            fprintf(stderr, "Could not send the line (nice_agent_send returned %d).\n", sent);
    }
    g_free(line);
    return G_SOURCE_CONTINUE;
}

static int run_ice(void)
{
    loop = g_main_loop_new(NULL, FALSE);
    agent = nice_agent_new(g_main_loop_get_context(loop), NICE_COMPATIBILITY_RFC5245);
    if (agent == NULL) {
        fputs("Could not create the ICE agent.\n", stderr);
        return 1;
    }
    g_object_set(agent, "controlling-mode", opt.server, "upnp", FALSE, NULL);

    NiceAddress local;
    nice_address_init(&local);
    if (!nice_address_set_from_string(&local, opt.local_address)) {
        fprintf(stderr, "Invalid --local-address %s: give a numeric IP address.\n", opt.local_address);
        return 1;
    }
    if (!nice_agent_add_local_address(agent, &local)) {
        fprintf(stderr, "Could not use local address %s.\n", opt.local_address);
        return 1;
    }

    if (opt.stun_server != NULL) {
        char ip[INET_ADDRSTRLEN];
        if (!resolve_ipv4(opt.stun_server, ip, sizeof ip)) {
            fprintf(stderr, "Cannot resolve STUN server %s. Check --stun.\n", opt.stun_server);
            return 1;
        }
        g_object_set(agent, "stun-server", ip, "stun-server-port", (guint)opt.stun_port, NULL);
    }

    if (opt.relay_only) {
        if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "force-relay") != NULL)
            g_object_set(agent, "force-relay", TRUE, NULL);
        else
            manual_relay_filter = TRUE;
    }

    g_signal_connect(agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), NULL);
    g_signal_connect(agent, "component-state-changed", G_CALLBACK(on_state_changed), NULL);

    stream_id = nice_agent_add_stream(agent, 1);
    if (stream_id == 0) {
        fputs("Could not add the ICE stream.\n", stderr);
        return 1;
    }

    if (opt.turn_server != NULL) {
        char ip[INET_ADDRSTRLEN];
        if (!resolve_ipv4(opt.turn_server, ip, sizeof ip)) {
            fprintf(stderr, "Cannot resolve TURN server %s. Check --turn.\n", opt.turn_server);
            return 1;
        }
        if (!nice_agent_set_relay_info(agent, stream_id, 1, ip, (guint)opt.turn_port,
                                       opt.turn_user ? opt.turn_user : "", opt.turn_pass ? opt.turn_pass : "",
                                       NICE_RELAY_TYPE_TURN_UDP)) {
            fprintf(stderr, "Could not set the TURN server %s:%d.\n", ip, opt.turn_port);
            return 1;
        }
    }

    nice_agent_attach_recv(agent, stream_id, 1, g_main_loop_get_context(loop), on_receive, NULL);

    remote_block = g_string_new(NULL);
    stdin_channel = g_io_channel_unix_new(0);
    g_io_channel_set_encoding(stdin_channel, NULL, NULL); /* raw bytes, no UTF-8 validation */
    g_io_channel_set_flags(stdin_channel, G_IO_FLAG_NONBLOCK, NULL);

    if (!nice_agent_gather_candidates(agent, stream_id)) {
        fputs("Candidate gathering failed: no usable local address. Check --local-address.\n", stderr);
        return 1;
    }

    g_main_loop_run(loop);

    if (stdin_watch)
        g_source_remove(stdin_watch);
    nice_agent_attach_recv(agent, stream_id, 1, g_main_loop_get_context(loop), NULL, NULL);
    g_object_unref(agent);
    g_io_channel_unref(stdin_channel);
    g_string_free(remote_block, TRUE);
    g_main_loop_unref(loop);
    return exit_code;
}

/* --------------------------------------------------------------------- main */

enum {
    OPT_NO_ICE = 1000, OPT_STUN, OPT_STUN_PORT, OPT_TURN, OPT_TURN_PORT, OPT_TURN_USER, OPT_TURN_PASS,
    OPT_LOCAL_ADDRESS, OPT_RELAY_ONLY, OPT_TIMEOUT, OPT_HELP
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "no-ice", no_argument, NULL, OPT_NO_ICE },
        { "stun", required_argument, NULL, OPT_STUN },
        { "stun-port", required_argument, NULL, OPT_STUN_PORT },
        { "turn", required_argument, NULL, OPT_TURN },
        { "turn-port", required_argument, NULL, OPT_TURN_PORT },
        { "turn-user", required_argument, NULL, OPT_TURN_USER },
        { "turn-pass", required_argument, NULL, OPT_TURN_PASS },
        { "local-address", required_argument, NULL, OPT_LOCAL_ADDRESS },
        { "relay-only", no_argument, NULL, OPT_RELAY_ONLY },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    opterr = 0;

    int c;
    while ((c = getopt_long(argc, argv, ":sp:c:", longopts, NULL)) != -1) {
        switch (c) {
        case 's': opt.server = TRUE; break;
        case 'p':
            if (!parse_int(optarg, 0, 65535, &opt.port)) {
                fprintf(stderr, "Invalid port '%s' for -p: give a number from 0 to 65535.\n", optarg);
                return 2;
            }
            break;
        case 'c': opt.connect_ip = optarg; break;
        case OPT_NO_ICE: opt.no_ice = TRUE; break;
        case OPT_STUN: opt.stun_server = optarg; break;
        case OPT_STUN_PORT:
            if (!parse_int(optarg, 1, 65535, &opt.stun_port)) {
                fprintf(stderr, "Invalid port '%s' for --stun-port: give a number from 1 to 65535.\n", optarg);
                return 2;
            }
            break;
        case OPT_TURN: opt.turn_server = optarg; break;
        case OPT_TURN_PORT:
            if (!parse_int(optarg, 1, 65535, &opt.turn_port)) {
                fprintf(stderr, "Invalid port '%s' for --turn-port: give a number from 1 to 65535.\n", optarg);
                return 2;
            }
            break;
        case OPT_TURN_USER: opt.turn_user = optarg; break;
        case OPT_TURN_PASS: opt.turn_pass = optarg; break;
        case OPT_LOCAL_ADDRESS: opt.local_address = optarg; break;
        case OPT_RELAY_ONLY: opt.relay_only = TRUE; break;
        case OPT_TIMEOUT:
            if (!parse_int(optarg, 1, 86400, &opt.timeout)) {
                fprintf(stderr, "Invalid --timeout '%s': give a number of seconds from 1 to 86400.\n", optarg);
                return 2;
            }
            break;
        case OPT_HELP: usage(stdout); return 0;
        case ':':
            fprintf(stderr, "Option %s needs a value. See --help.\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "Unknown option %s. See --help.\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "Unexpected argument '%s'. See --help.\n", argv[optind]);
        return 2;
    }
    if (opt.relay_only && opt.turn_server == NULL && !opt.no_ice) {
        fputs("--relay-only needs a TURN server: add --turn <server> --turn-user <u> --turn-pass <p>.\n", stderr);
        return 2;
    }

    return opt.no_ice ? run_no_ice() : run_ice();
}
