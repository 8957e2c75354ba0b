#!/usr/bin/perl
# Plain-TCP baseline for the lab's link profiles (perl-base only, like udp-probe.pl).
#   tcp-rate.pl recv <port>                 accept one connection, read to EOF, print
#                                           "received <bytes> bytes in <seconds> s" (first byte to EOF)
#   tcp-rate.pl send <ip> <port> <bytes> [cc]  connect, send that many bytes, close; with cc (reno, cubic, bbr) the
#                                           connection's congestion control instead of the system's default
#   tcp-rate.pl listen <port>               accept connections and close them (a peer for `rtt`)
#   tcp-rate.pl rtt <ip> <port> <count>     time <count> TCP connects (SYN to SYN-ACK: one round trip each) and print
#                                           "rtt <count> connects: min X ms median Y ms max Z ms"
# Each exits after 120 s whatever happens.
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP pack_sockaddr_in inet_aton);
use Time::HiRes qw(time);

my $mode = shift // '';
alarm 120;
if ($mode eq 'recv') {
    my $port = shift or die "usage: tcp-rate.pl recv <port>\n";
    my $server = IO::Socket::INET->new(LocalPort => $port, Proto => 'tcp', Listen => 1, ReuseAddr => 1) or die "listen: $!\n";
    $| = 1;
    print "listening on $port\n";
    my $client = $server->accept() or die "accept: $!\n";
    my ($total, $start, $buffer) = (0, undef, '');
    while (1) {
        my $n = sysread($client, $buffer, 1 << 16);
        die "read: $!\n" unless defined $n;
        last if $n == 0;
        $start //= time;
        $total += $n;
    }
    printf "received %d bytes in %.3f s\n", $total, time - ($start // time);
} elsif ($mode eq 'send') {
    my ($ip, $port, $bytes, $cc) = @ARGV;
    die "usage: tcp-rate.pl send <ip> <port> <bytes> [congestion-control]\n" unless defined $bytes;
    my $socket = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!\n";
    # TCP_CONGESTION (13 in linux/tcp.h): this connection's congestion control, e.g. reno (always allowed) beside the
    # system's default (often bbr, which does not back off for random loss)
    if (defined $cc) { setsockopt($socket, IPPROTO_TCP, 13, $cc) or die "congestion control '$cc': $!\n"; }
    $socket->connect(pack_sockaddr_in($port, inet_aton($ip))) or die "connect: $!\n";
    my $chunk = join '', map { chr(int(rand(256))) } 1 .. 65536;
    while ($bytes > 0) {
        my $part = $bytes < length $chunk ? substr($chunk, 0, $bytes) : $chunk;
        my $off = 0;
        while ($off < length $part) {
            my $w = syswrite($socket, $part, length($part) - $off, $off);
            die "write: $!\n" unless defined $w;
            $off += $w;
        }
        $bytes -= length $part;
    }
    close $socket;
} elsif ($mode eq 'listen') {
    my $port = shift or die "usage: tcp-rate.pl listen <port>\n";
    my $server = IO::Socket::INET->new(LocalPort => $port, Proto => 'tcp', Listen => 64, ReuseAddr => 1) or die "listen: $!\n";
    $| = 1;
    print "listening on $port\n";
    while (my $client = $server->accept()) { close $client; }
} elsif ($mode eq 'rtt') {
    my ($ip, $port, $count) = @ARGV;
    die "usage: tcp-rate.pl rtt <ip> <port> <count>\n" unless defined $count && $count > 0;
    my @ms;
    for (1 .. $count) {
        my $start = time;
        my $socket = IO::Socket::INET->new(PeerAddr => $ip, PeerPort => $port, Proto => 'tcp', Timeout => 10) or die "connect: $!\n";
        push @ms, (time - $start) * 1000;
        close $socket;
        select(undef, undef, undef, 0.02);
    }
    @ms = sort { $a <=> $b } @ms;
    printf "rtt %d connects: min %.1f ms median %.1f ms max %.1f ms\n", $count, $ms[0], $ms[int($#ms / 2)], $ms[-1];
} else {
    die "usage: tcp-rate.pl recv <port> | send <ip> <port> <bytes> [cc] | listen <port> | rtt <ip> <port> <count>\n";
}
