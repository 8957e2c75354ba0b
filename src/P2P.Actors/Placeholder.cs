namespace P2P.Actors; public static class Placeholder {}
