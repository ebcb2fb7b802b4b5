"""The texts of the demo books, written for elibrary (original works, free to ship with it).

Markup in the Japanese texts: ``{漢字|かんじ}`` is ruby (ふりがな), ``《ことば》`` gets emphasis dots
(傍点), ``^12^`` is set upright in vertical text (縦中横). One paragraph per line.
"""
from __future__ import annotations

# 月夜の郵便局 1 — a vertical-writing story for children (小学校中学年から).
MOON_POST_OFFICE = (
    (
        "一　^12^時の窓口",
        """
山のふもとの町に、小さな{郵便局|ゆうびんきょく}がありました。昼間はふつうの郵便局ですが、月がまるい夜だけ、^12^時ちょうどに、うらの窓口がひとつだけ開きます。
その窓口の{係|かかり}は、{灰色|はいいろ}のねこのヨルさんです。{眼鏡|めがね}をかけて、{切手|きって}の{引|ひ}き{出|だ}しを{三十|さんじゅう}も持っています。
「いらっしゃいませ。どちらまで{届|とど}けましょう」
ヨルさんの声は、{鈴|すず}をころがしたように小さくて、けれど、ふしぎとよく聞こえるのでした。
その夜、窓口にやってきたのは、{小学|しょうがく}^3^年生のハルという女の子でした。ハルは、{折|お}りたたんだ手紙を、《ぎゅっと》にぎりしめていました。
""",
    ),
    (
        "二　月へのてがみ",
        """
「この手紙を、月まで届けてください」
ハルがそう言うと、ヨルさんは{眼鏡|めがね}を{少|すこ}し{持|も}ち{上|あ}げました。
「月までですね。{料金|りょうきん}は、{切手|きって}の{代|か}わりに、きょういちばん《うれしかったこと》をひとつ、いただきます」
ハルは{考|かんが}えました。{給食|きゅうしょく}のプリンのこと、{雨|あめ}あがりの{虹|にじ}のこと。それから、{引|ひ}っ{越|こ}していった友だちのミオから、{久|ひさ}しぶりに{電話|でんわ}があったことを話しました。
ヨルさんはうなずいて、そのお話を{透|す}きとおった{封筒|ふうとう}にそっとしまいました。すると封筒は、ほんのり{金色|きんいろ}に光りはじめました。
「月までは{片道|かたみち}^38^万キロメートル。{返事|へんじ}は、つぎの満月の夜に」
""",
    ),
    (
        "三　返事",
        """
ひと月のあいだ、ハルは{毎晩|まいばん}、{窓|まど}から月を見ました。月は{細|ほそ}くなり、見えなくなり、また少しずつふくらんでいきました。
つぎの満月の夜、^12^時。うらの窓口には、ヨルさんが{待|ま}っていました。
「お{返事|へんじ}が{届|とど}いております」
{渡|わた}された封筒には、{銀色|ぎんいろ}の文字で、こう書いてありました。
《あなたのうれしいことは、わたしの光になりました》
ハルが空を見あげると、月はいつもより《少しだけ》明るく見えました。
ヨルさんは{眼鏡|めがね}をはずして、「またのご{利用|りよう}を」と、しずかにおじぎをしました。
""",
    ),
)

# 図書館のある町 — an essay in horizontal Japanese (EPUB 2).
LIBRARY_TOWN = (
    (
        "はじめに",
        """
引っ越し先を決めるとき、私はまず地図で図書館を探す。駅からの距離よりも、スーパーの数よりも、歩いて行ける場所に図書館があるかどうかが気になる。
図書館は、本を借りる場所である前に、だれもが理由を聞かれずにいられる場所だと思う。
""",
    ),
    (
        "朝の閲覧室",
        """
開館直後の閲覧室には、新聞を読む人、資格の勉強をする人、ただ窓の外を眺めている人がいる。会話はほとんどないのに、ゆるやかなつながりがある。
司書さんは、だれが何を読んでいるかを決して口にしない。その沈黙が、この部屋の安心をつくっている。
""",
    ),
    (
        "電子図書館のこと",
        """
電子図書館は、開館時間も天気も関係なく、夜中の布団の中からでも本を借りられる。文字を大きくしたり、読み上げてもらったりできるので、紙の本が読みづらくなった人にも道がひらける。
紙の図書館と電子の図書館は、どちらかがどちらかに代わるものではない。町のなかに、本への入口がひとつ増えたのだと考えたい。
""",
    ),
)

# The Lighthouse Library — a short English story in horizontal text (EPUB 3 with a nav TOC).
LIGHTHOUSE = (
    (
        "The Keeper",
        """
On a rock at the edge of the map stood a lighthouse that no ship needed any more. The lamp had been replaced by a small automatic light, and the keeper, Mrs Okafor, had been told she could go home.
She did not go home. She stayed, and she began to fill the empty rooms with books.
""",
    ),
    (
        "The Boats",
        """
At first only the fishing boats came, sheltering from the weather. Their crews borrowed a novel or two and returned them salt-stained a week later. Then the ferry began to stop on Thursdays.
Mrs Okafor kept no fines and asked no questions. She wrote each loan in a notebook in pencil and rubbed it out when the book came back, so that nobody would ever know who had read what.
""",
    ),
    (
        "The Light",
        """
One winter the automatic light failed during a storm. The ferry captain, steering blind, saw a glow on the rock: every reading lamp in the lighthouse, switched on at once.
She brought the ferry in safely. In spring the town council voted to call the rock the Lighthouse Library, and to pay the keeper's electricity bill for as long as the books were there.
""",
    ),
)

# くまくんのあかいかさ — the picture book: one line per page (after the cover).
PICTURE_BOOK = (
    "あめが ふってきたよ。くまくんは あかい かさを ひらきました。",
    "みちで、ちいさな ことりが ぬれて ふるえていました。",
    "「いっしょに はいる?」くまくんは かさを かたむけました。",
    "こんどは、かえるさんが ぴょんと やってきました。",
    "「ぼくは あめが すきなんだ」かえるさんは わらいました。",
    "のはらの まんなかで、かぜが びゅうっと ふきました。",
    "かさが くるくる まわって、くまくんも くるくる。",
    "あめが やみました。そらに にじが でました。",
    "「また あめの ひに あそぼうね」",
    "おしまい",
)
