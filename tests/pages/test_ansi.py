"""The ANSI-to-HTML renderer of terminal mirrors and the dialog option parser: pure functions, no tmux."""

import random

from chorus_site import ansi


def test_plain_text_is_escaped():
    assert ansi.to_html("<b>&'x'</b>") == "&lt;b&gt;&amp;'x'&lt;/b&gt;"


def test_sixteen_colours_become_classes_and_reset_closes_the_span():
    html = ansi.to_html("a\x1b[31mred\x1b[0m b \x1b[94mbright\x1b[39m plain")
    assert html == 'a<span class="f1">red</span> b <span class="f12">bright</span> plain'


def test_256_and_truecolor_become_inline_colours_in_both_forms():
    assert ansi.to_html("\x1b[38;5;208mx") == '<span style="color:#ff8700">x</span>'
    assert ansi.to_html("\x1b[48;5;240mx") == '<span style="background-color:#585858">x</span>'
    assert ansi.to_html("\x1b[38;2;1;2;3mx") == '<span style="color:#010203">x</span>'
    assert ansi.to_html("\x1b[38:2::10:20:30mx") == '<span style="color:#0a141e">x</span>'
    assert ansi.to_html("\x1b[38;5;3mx") == '<span class="f3">x</span>'


def test_bold_underline_inverse_and_their_resets():
    assert ansi.to_html("\x1b[1;4mx\x1b[22my\x1b[24mz") == ('<span class="sb su">x</span><span class="su">y</span>z')
    # inverse with default colours swaps the terminal's own colours, which only the stylesheet knows
    assert ansi.to_html("\x1b[7mx\x1b[27m") == '<span class="fi bi">x</span>'
    # green text inverted: green background, the terminal's background colour as the text
    assert ansi.to_html("\x1b[32;7mx") == '<span class="fi b2">x</span>'
    # bold brightens the first eight colours
    assert ansi.to_html("\x1b[1;31mx") == '<span class="f9 sb">x</span>'


def test_other_sequences_and_control_characters_are_dropped():
    text = "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[?25l\x1b[2Kok\x07\x00"
    assert ansi.to_html(text) == "link ok"


def test_a_style_carries_over_lines_but_each_line_closes_its_spans():
    lines = ansi.render_lines("\x1b[33mone\ntwo\x1b[0m\nthree\n")
    assert [line.text for line in lines] == ["one", "two", "three"]
    assert [line.html for line in lines] == ['<span class="f3">one</span>', '<span class="f3">two</span>', "three"]


def test_a_style_carries_over_blank_lines_and_a_reset_among_them():
    lines = ansi.render_lines("\x1b[1;31mone\n\n\x1b[4mtwo\n\n\x1b[0m\nthree")
    assert [line.html for line in lines] == [
        '<span class="f9 sb">one</span>',
        "",
        '<span class="f9 sb su">two</span>',
        "",
        "",
        "three",
    ]


def test_tail_skips_blank_lines():
    lines = ansi.render_lines("a\nb\n\nc\n\n   \n")
    assert [line.text for line in ansi.tail(lines, 2)] == ["b", "c"]


def test_a_screens_tail_is_its_whole_renderings_tail():
    # Styles set rows above the tail, reset, set again, and reset by a sequence that sets another style at once.
    rng = random.Random(16)
    pieces = ["\x1b[1m", "\x1b[31m", "\x1b[0m", "\x1b[m", "\x1b[0;44m", "\x1b[38;5;208m", "\x1b[4:3m", "\x1b[?25l"]
    for _ in range(300):
        rows = [
            "".join(rng.choice([*pieces, "text", " ", "", "<&>"]) for _ in range(rng.randrange(6)))
            for _ in range(rng.randrange(12))
        ]
        screen = "\n".join(rows) + rng.choice(["", "\n"])
        for count in (1, 3, 6):
            assert ansi.screen_tail(screen, count) == ansi.tail(ansi.render_lines(screen), count), screen


def test_a_tail_starts_with_the_style_set_above_it():
    screen = "\x1b[1mbold from here\n\x1b[32mgreen too\nlast\n\n"
    assert [line.html for line in ansi.screen_tail(screen, 1)] == ['<span class="f10 sb">last</span>']
