#!/usr/bin/perl
# A UDP probe of a NAT's filtering and port preservation, for check-nat.sh (perl-base only, so it
# runs wherever Debian does).
#
#   udp-probe.pl answer IP1 IP2 PORT
#       on lab-srv: waits on IP1:PORT; to each datagram it answers three times, each answer carrying
#       the source address it saw ("seen <addr:port>"): from IP1:PORT (the address the host sent to),
#       from IP1:PORT+1 (same address, another port) and from IP2:PORT (another address). Prints
#       "ready" once its sockets are bound. Runs until killed.
#
#   udp-probe.pl ask LOCAL_IP LOCAL_PORT SERVER_IP PORT
#       on a LAN host: from LOCAL_IP:LOCAL_PORT sends a probe to SERVER_IP:PORT (three times, 100 ms
#       apart), listens for 1.5 s and prints one line:
#           mapped=<addr:port the server saw, or -> same=<0|1> other-port=<0|1> other-addr=<0|1>
#       where each flag says whether that answer got through the NAT to the host.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;

sub udp {
    my ($ip, $port) = @_;
    my $socket = IO::Socket::INET->new(Proto => 'udp', LocalAddr => $ip, LocalPort => $port, ReuseAddr => 1);
    die "udp-probe: cannot bind $ip:$port: $!\n" unless $socket;
    return $socket;
}

my $mode = shift // '';
if ($mode eq 'answer' && @ARGV == 3) {
    my ($ip1, $ip2, $port) = @ARGV;
    my $same = udp($ip1, $port);
    my $other_port = udp($ip1, $port + 1);
    my $other_addr = udp($ip2, $port);
    $| = 1;
    print "ready\n";
    while (1) {
        my $from = $same->recv(my $data, 1500) // next;
        my ($peer_port, $peer_ip) = sockaddr_in($from);
        my $seen = inet_ntoa($peer_ip) . ":$peer_port";
        $same->send("same seen $seen", 0, $from);
        $other_port->send("other-port seen $seen", 0, $from);
        $other_addr->send("other-addr seen $seen", 0, $from);
    }
}
elsif ($mode eq 'ask' && @ARGV == 4) {
    my ($local_ip, $local_port, $server_ip, $port) = @ARGV;
    my $socket = udp($local_ip, $local_port);
    my $to = sockaddr_in($port, inet_aton($server_ip));
    my $select = IO::Select->new($socket);
    my %got;
    my $mapped = '-';
    # 15 rounds of 100 ms: a probe in each of the first three, answers read throughout
    for my $round (1 .. 15) {
        $socket->send("probe $round", 0, $to) if $round <= 3;
        while ($select->can_read(0.1)) {
            $socket->recv(my $data, 1500);
            if (defined $data && $data =~ /^(same|other-port|other-addr) seen (\S+)$/) {
                $got{$1} = 1;
                $mapped = $2;
            }
        }
    }
    printf "mapped=%s same=%d other-port=%d other-addr=%d\n", $mapped,
        $got{'same'} // 0, $got{'other-port'} // 0, $got{'other-addr'} // 0;
}
else {
    die "usage: udp-probe.pl answer IP1 IP2 PORT | ask LOCAL_IP LOCAL_PORT SERVER_IP PORT\n";
}
