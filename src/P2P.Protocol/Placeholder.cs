namespace P2P.Protocol; public static class Placeholder {}
