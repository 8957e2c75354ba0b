namespace P2P.Host.Demo;

/// <summary>The demo could not go on; <see cref="Exception.Message"/> is the sentence for the user.</summary>
public sealed class DemoFailedException(string message) : Exception(message);
