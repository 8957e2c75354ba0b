using Akka.Actor;

namespace P2P.Actors.Mdns;

/// <summary>
/// The one <see cref="MdnsResponder"/> of an actor system (a system actor, "mdns"), made on first use with the
/// <c>p2p.ice</c> mDNS settings and real sockets. A test may give other sockets with <see cref="UseSockets"/> first.
/// </summary>
public sealed class MdnsExtension : IExtension
{
    private readonly ExtendedActorSystem _system;
    private readonly object _gate = new();
    private IMdnsSockets _sockets = new RealMdnsSockets();
    private IActorRef? _responder;

    public MdnsExtension(ExtendedActorSystem system) => _system = system;

    public static MdnsExtension Get(ActorSystem system) => system.WithExtension<MdnsExtension, MdnsExtensionProvider>();

    /// <summary>The responder, made now if it is not yet.</summary>
    public IActorRef Responder
    {
        get
        {
            lock (_gate)
            {
                if (_responder is not null) return _responder;
                var ice = _system.Settings.Config.GetConfig("p2p.ice");
                var settings = ice is null || ice.IsEmpty ? MdnsSettings.Default : MdnsSettings.From(ice);
                return _responder = _system.SystemActorOf(MdnsResponder.Props(settings, _sockets), "mdns");
            }
        }
    }

    /// <summary>Sockets for the responder to come (tests: an in-memory link); refused once it exists.</summary>
    public void UseSockets(IMdnsSockets sockets)
    {
        lock (_gate)
        {
            if (_responder is not null) throw new InvalidOperationException("the mDNS responder is already running with its sockets");
            _sockets = sockets;
        }
    }
}

public sealed class MdnsExtensionProvider : ExtensionIdProvider<MdnsExtension>
{
    public override MdnsExtension CreateExtension(ExtendedActorSystem system) => new(system);
}
