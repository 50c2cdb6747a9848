using System;
using System.Diagnostics;
using System.IO;
using System.Text.RegularExpressions;

namespace Kernels.Cli.Dashboard;

/// <summary>Renders a page to PNG with headless Chromium (Debian's <c>chromium</c> package), to check it renders.</summary>
public static class Screenshot
{
    /// <summary>Where Debian installs Chromium.</summary>
    public const string DefaultChromium = "/usr/bin/chromium";

    /// <summary>Page width of the screenshot in CSS pixels.</summary>
    public const int Width = 1360;

    /// <summary>
    /// Screenshots <paramref name="htmlPath"/> into <paramref name="pngPath"/>; the window height is estimated from the
    /// page (plots and table rows) so that the whole page is captured. Returns Chromium's output; throws on failure.
    /// </summary>
    public static string Take(string htmlPath, string pngPath, string chromium = DefaultChromium, TimeSpan? timeout = null)
    {
        string html = File.ReadAllText(htmlPath);
        int plots = Regex.Matches(html, "<svg ").Count;
        int rows = Regex.Matches(html, "<tr>").Count;
        int height = Math.Clamp(420 + (plots + 1) / 2 * (DashboardPlots.Height + 14) + rows * 21 + Regex.Matches(html, "<h[23]").Count * 50, 800, 16000);
        string profile = Path.Combine(Path.GetTempPath(), "kernels-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(pngPath))!);
        var start = new ProcessStartInfo(chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + profile,
                     $"--window-size={Width},{height}", "--screenshot=" + Path.GetFullPath(pngPath), new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri,
                 })
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {chromium}");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("chromium did not finish the screenshot in time");
            }
            string output = stdout.Result + stderr.Result;
            if (process.ExitCode != 0 || !File.Exists(pngPath))
                throw new InvalidOperationException($"chromium exited with {process.ExitCode}: {output}");
            return output;
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
