"""MIME → plain text: charsets, RFC 2047, HTML, quoted replies, attachments, malformed input."""

from __future__ import annotations

import base64
import email
import email.policy

from socialdesk.connectors import mime_text


def parse(raw: bytes) -> email.message.Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def test_prefers_text_plain_over_html():
    raw = (
        b"Content-Type: multipart/alternative; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML version</p>\r\n"
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain version\r\n--XX--\r\n"
    )
    assert mime_text.message_text(parse(raw)) == "Plain version"


def test_html_only_is_converted_without_markup_scripts_or_styles():
    raw = (
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><title>T</title><style>p{color:red}</style></head><body>"
        b"<script>alert('x')</script><p>Hello &amp; welcome</p><p>Line<br>two</p>"
        b"<ul><li>one</li><li>two</li></ul><a href='https://example.com/x'>our site</a>"
        b"<img src='http://tracker.example/pixel.gif' alt='logo'></body></html>"
    )
    text = mime_text.message_text(parse(raw))
    assert "<" not in text and ">" not in text
    assert "alert" not in text and "color" not in text and "T\n" not in text
    assert "Hello & welcome" in text
    assert "Line\ntwo" in text
    assert "- one\n- two" in text
    assert "our site (https://example.com/x)" in text
    assert "[logo]" in text
    assert "tracker.example" not in text


def test_wrong_and_unknown_charset_labels_still_decode():
    utf8_labelled_ascii = "Content-Type: text/plain; charset=us-ascii\r\n\r\nCafé crème\r\n".encode("utf-8")
    assert mime_text.message_text(parse(utf8_labelled_ascii)) == "Café crème"
    unknown = b"Content-Type: text/plain; charset=x-bogus-42\r\n\r\nCaf\xe9\r\n"
    assert mime_text.message_text(parse(unknown)) == "Café"
    latin1 = b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n"
    assert mime_text.message_text(parse(latin1)) == "Grüße"


def test_rfc2047_headers_any_charset_and_no_crlf():
    raw = (
        b"Subject: =?utf-8?B?" + base64.b64encode("Bestellung Nr. 5 – Frage".encode()) + b"?=\r\n"
        b"From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <Juergen@Example.COM>\r\n"
        b"X-Evil: =?utf-8?Q?a=0D=0ABcc:_victim@example.com?=\r\n\r\nbody\r\n"
    )
    msg = parse(raw)
    assert mime_text.header(msg, "Subject") == "Bestellung Nr. 5 – Frage"
    assert mime_text.addresses(msg, "From") == [("Jürgen Müller", "juergen@example.com")]
    evil = mime_text.header(msg, "X-Evil")
    assert "\r" not in evil and "\n" not in evil and "Bcc: victim" in evil


def test_raw_8bit_header_and_bad_encoded_word_do_not_crash():
    raw = b"Subject: Caf\xc3\xa9 =?bogus?Q?x?= =?utf-8?B?!!!?=\r\n\r\nx\r\n"
    subject = mime_text.header(parse(raw), "Subject")
    assert subject.startswith("Café")


def test_message_ids_are_normalised():
    assert mime_text.message_ids("<a@b> \r\n <c@d>") == ["<a@b>", "<c@d>"]
    assert mime_text.message_ids("bare@id.example") == ["<bare@id.example>"]
    assert mime_text.message_ids("") == []


def test_attachments_listed_by_name_and_size_and_not_in_text():
    payload = b"%PDF-1.4 " + b"x" * 1000
    raw = (
        b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nSee attached\r\n"
        b"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        b"filename=\"=?utf-8?Q?Rechnung_M=C3=A4rz.pdf?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(payload)
        + b"--B\r\nContent-Type: image/png; name=\"..\\\\..\\\\etc/passwd\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(b"\x89PNG....")
        + b"--B--\r\n"
    )
    msg = parse(raw)
    assert mime_text.message_text(msg) == "See attached"
    found = mime_text.attachments(msg)
    assert found[0] == {"name": "Rechnung März.pdf", "size": len(payload), "type": "application/pdf"}
    assert found[1]["name"] == "passwd" and found[1]["size"] == 8


def test_malformed_mime_missing_boundary_and_bad_base64():
    raw = (
        b"Content-Type: multipart/mixed\r\n\r\nJust some text without any boundary\r\n"
    )
    assert "Just some text" in mime_text.message_text(parse(raw))
    bad_b64 = b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@not base64!!!\r\n"
    assert isinstance(mime_text.message_text(parse(bad_b64)), str)
    truncated = b"Content-Type: multipart/mixed; boundary=Q\r\n\r\n--Q\r\nContent-Type: text/plain\r\n\r\nhalf"
    assert mime_text.message_text(parse(truncated)) == "half"


def test_huge_text_is_bounded():
    raw = b"Content-Type: text/html\r\n\r\n<p>" + b"word " * 2_000_000 + b"</p>"
    text = mime_text.message_text(parse(raw))
    assert len(text) <= mime_text.MAX_TEXT_CHARS + 100
    assert text.endswith("[Message shortened: it is too long to show in full]")


def test_split_quoted_trailing_block_with_two_line_attribution():
    text = "Thanks, that works!\n\nOn Mon, 3 Mar 2026 at 10:00, Shop\n<shop@example.com> wrote:\n> Try restarting.\n>\n> > Older\n"
    new, quoted = mime_text.split_quoted(text)
    assert new == "Thanks, that works!"
    assert quoted.startswith("On Mon") and "> Try restarting." in quoted


def test_split_quoted_outlook_and_original_message():
    outlook = "Yes please.\n\n________________________________\nFrom: Shop <s@x.com>\nSent: Monday\nSubject: Re: x\n\nOld text"
    assert mime_text.split_quoted(outlook)[0] == "Yes please."
    original = "Ok.\n-----Original Message-----\nFrom: a\nold"
    assert mime_text.split_quoted(original) == ("Ok.", "-----Original Message-----\nFrom: a\nold")


def test_split_quoted_keeps_inline_answers_and_all_quoted_messages():
    inline = "> question 1\nanswer 1\n> question 2\nanswer 2"
    assert mime_text.split_quoted(inline) == (inline, "")
    only_quote = "> everything quoted\n> here"
    assert mime_text.split_quoted(only_quote) == (only_quote, "")
