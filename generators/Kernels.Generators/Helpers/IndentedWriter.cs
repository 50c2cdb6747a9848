using System.Text;

namespace Kernels.Generators.Helpers;

/// <summary>A minimal indented text writer for emitting C#.</summary>
internal sealed class IndentedWriter
{
    private readonly StringBuilder _builder = new();
    private int _depth;

    public IndentedWriter Line(string text = "")
    {
        if (text.Length > 0)
            _builder.Append(' ', _depth * 4);
        _builder.Append(text).Append('\n');
        return this;
    }

    public IndentedWriter Open(string header)
    {
        Line(header);
        Line("{");
        _depth++;
        return this;
    }

    public IndentedWriter Close(string suffix = "")
    {
        _depth--;
        return Line("}" + suffix);
    }

    public override string ToString() => _builder.ToString();
}
