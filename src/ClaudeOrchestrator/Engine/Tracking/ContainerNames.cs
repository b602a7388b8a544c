using System;
using System.Security.Cryptography;

namespace ClaudeOrchestrator.Engine.Tracking
{
    internal static class ContainerNames
    {
        private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

        /// <summary>claude-&lt;unix-ms&gt;-&lt;4 random [a-z0-9]&gt;, the naming scheme users already know.</summary>
        public static string NewName()
        {
            var random = new byte[4];
            using (var rng = RandomNumberGenerator.Create())
            {
                rng.GetBytes(random);
            }

            var suffix = new char[4];
            for (var i = 0; i < suffix.Length; i++)
            {
                suffix[i] = Alphabet[random[i] % Alphabet.Length];
            }

            return "claude-" + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + "-" + new string(suffix);
        }
    }
}
