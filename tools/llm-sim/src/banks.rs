//! Per-language sentence banks for [`crate::article::compose`]. Each bank says the same
//! thing in its own language, naturally enough that BACOWR's language check (whatlang)
//! recognises it and free of the filler phrases its QC bans.

/// The raw material of one language. `{topic}` is replaced by the publisher, `{link}` by a
/// Markdown link.
pub(crate) struct Bank {
    pub(crate) titles: &'static [&'static str],
    pub(crate) sentences: &'static [&'static str],
    pub(crate) link_sentence: &'static str,
    pub(crate) trust_sentence: &'static str,
    pub(crate) trust_text: &'static str,
    pub(crate) meta: &'static str,
}

const EN: Bank = Bank {
    titles: &[
        "What {topic} readers should know this season",
        "A practical guide for {topic} readers",
        "How to choose wisely: notes from {topic}",
    ],
    sentences: &[
        "Many readers start with a simple question and end up comparing far more options than they expected.",
        "The best decisions tend to come from a clear picture of what you actually need day to day.",
        "Prices vary a great deal, so it pays to look beyond the first offer you come across.",
        "Experienced buyers often say that quality shows itself over years rather than weeks.",
        "It is worth reading the small print, since service terms differ more than the headlines suggest.",
        "Local conditions matter as well, and what works in one region may not suit another.",
        "A short checklist helps keep the comparison honest and saves time in the long run.",
        "Independent reviews give a useful counterweight to the claims made in advertising.",
        "Small details, such as delivery times and return policies, can tip the balance.",
        "Planning ahead usually means better availability and fewer compromises.",
        "Sustainability has become a deciding factor for a growing share of consumers.",
        "Talking to people who have already made the same choice is often the quickest way to learn.",
    ],
    link_sentence: "For a closer look at the options, {link} is a good place to start.",
    trust_sentence: "Research summarised in {link} points the same way.",
    trust_text: "a recent overview",
    meta: "A practical guide for {topic} readers: what to compare, what to ask and how to choose well.",
};

const SV: Bank = Bank {
    titles: &[
        "Det här bör läsare av {topic} veta i år",
        "En praktisk guide för läsare av {topic}",
        "Så väljer du rätt: tankar från {topic}",
    ],
    sentences: &[
        "Många börjar med en enkel fråga och slutar med att jämföra betydligt fler alternativ än väntat.",
        "De bästa besluten bygger oftast på en tydlig bild av vad man faktiskt behöver i vardagen.",
        "Priserna skiljer sig mycket åt, så det lönar sig att titta längre än till det första erbjudandet.",
        "Erfarna köpare brukar säga att kvalitet visar sig över flera år snarare än veckor.",
        "Det är värt att läsa det finstilta, eftersom villkoren skiljer sig mer än rubrikerna antyder.",
        "Lokala förutsättningar spelar också roll, och det som fungerar på ett ställe passar inte alltid ett annat.",
        "En kort checklista håller jämförelsen ärlig och sparar tid i längden.",
        "Oberoende recensioner är en bra motvikt till det som sägs i reklamen.",
        "Små detaljer som leveranstider och returvillkor kan avgöra valet.",
        "Den som planerar i förväg får oftast bättre tillgång och färre kompromisser.",
        "Hållbarhet har blivit en avgörande faktor för allt fler konsumenter.",
        "Att prata med någon som redan gjort samma val är ofta det snabbaste sättet att lära sig.",
    ],
    link_sentence: "Vill du fördjupa dig i alternativen är {link} ett bra ställe att börja på.",
    trust_sentence: "Det bekräftas också av {link} som många hänvisar till.",
    trust_text: "en aktuell genomgång",
    meta: "En praktisk guide för läsare av {topic}: vad du ska jämföra, fråga och välja.",
};

const DE: Bank = Bank {
    titles: &[
        "Was Leser von {topic} in dieser Saison wissen sollten",
        "Ein praktischer Leitfaden für Leser von {topic}",
        "Klug entscheiden: Notizen von {topic}",
    ],
    sentences: &[
        "Viele Leser beginnen mit einer einfachen Frage und vergleichen am Ende weit mehr Angebote als erwartet.",
        "Die besten Entscheidungen beruhen meist auf einem klaren Bild dessen, was man im Alltag wirklich braucht.",
        "Die Preise unterscheiden sich stark, daher lohnt sich der Blick über das erste Angebot hinaus.",
        "Erfahrene Käufer sagen oft, dass sich Qualität über Jahre und nicht über Wochen zeigt.",
        "Es lohnt sich, das Kleingedruckte zu lesen, denn die Bedingungen unterscheiden sich mehr als gedacht.",
        "Auch die örtlichen Gegebenheiten spielen eine Rolle, und nicht alles passt überall.",
        "Eine kurze Checkliste hält den Vergleich ehrlich und spart auf Dauer Zeit.",
        "Unabhängige Testberichte sind ein nützliches Gegengewicht zu den Versprechen der Werbung.",
        "Kleine Details wie Lieferzeiten und Rückgaberegeln können den Ausschlag geben.",
        "Wer vorausplant, hat meist eine bessere Auswahl und muss weniger Kompromisse eingehen.",
        "Nachhaltigkeit ist für immer mehr Verbraucher ein entscheidender Faktor geworden.",
        "Mit Menschen zu sprechen, die dieselbe Wahl schon getroffen haben, ist oft der schnellste Weg.",
    ],
    link_sentence: "Wer sich die Möglichkeiten genauer ansehen möchte, findet bei {link} einen guten Einstieg.",
    trust_sentence: "Das bestätigt auch {link}, auf die sich viele berufen.",
    trust_text: "eine aktuelle Übersicht",
    meta: "Ein praktischer Leitfaden für Leser von {topic}: was man vergleichen und wie man wählen sollte.",
};

const DA: Bank = Bank {
    titles: &[
        "Det bør læsere af {topic} vide i denne sæson",
        "En praktisk guide til læsere af {topic}",
        "Sådan vælger du klogt: noter fra {topic}",
    ],
    sentences: &[
        "Mange læsere starter med et enkelt spørgsmål og ender med at sammenligne langt flere muligheder, end de havde regnet med.",
        "De bedste beslutninger bygger som regel på et klart billede af, hvad man faktisk har brug for i hverdagen.",
        "Priserne svinger meget, så det betaler sig at kigge videre end det første tilbud, man støder på.",
        "Erfarne købere siger ofte, at kvalitet først viser sig efter flere år og ikke efter nogle få uger.",
        "Det er værd at læse det med småt, fordi vilkårene varierer mere, end overskrifterne antyder.",
        "Lokale forhold spiller også en rolle, og hvad der virker i én region, passer ikke nødvendigvis i en anden.",
        "En kort tjekliste holder sammenligningen ærlig og sparer tid i det lange løb.",
        "Uafhængige anmeldelser er en nyttig modvægt til de løfter, man møder i reklamerne.",
        "Små detaljer som leveringstider og returregler kan gøre udslaget, når man skal købe.",
        "Den, der planlægger i god tid, får som regel et bedre udvalg og færre kompromiser.",
        "Bæredygtighed er blevet en afgørende faktor for en voksende andel af forbrugerne.",
        "At tale med nogle, der allerede har truffet det samme valg, er ofte den hurtigste måde at lære på.",
    ],
    link_sentence: "Vil du se nærmere på mulighederne, er {link} et godt sted at begynde.",
    trust_sentence: "Det bekræftes også af {link}, som mange henviser til.",
    trust_text: "en aktuel gennemgang",
    meta: "En praktisk guide til læsere af {topic}: hvad du skal sammenligne, spørge om og vælge.",
};

const NB: Bank = Bank {
    titles: &[
        "Dette bør lesere av {topic} vite denne sesongen",
        "En praktisk guide for lesere av {topic}",
        "Slik velger du klokt: notater fra {topic}",
    ],
    sentences: &[
        "Mange lesere begynner med et enkelt spørsmål, men ender opp med å sammenligne langt flere tilbud enn de hadde forventet.",
        "De beste beslutningene bygger som regel på et klart bilde av hva du trenger, og hvordan du faktisk kommer til å bruke det i hverdagen.",
        "Prisene varierer mye, så det lønner seg å se lenger enn til det første tilbudet man kommer over.",
        "Erfarne kjøpere sier ofte at kvaliteten først viser seg etter flere år, ikke etter noen få uker.",
        "Det er verdt å lese det som står med liten skrift, fordi vilkårene varierer mer enn overskriftene tilsier.",
        "Også lokale forhold betyr mye, og det som er lurt ett sted, er ikke nødvendigvis lurt et annet sted.",
        "En kort sjekkliste gjør det lettere å sammenligne ærlig, og sparer deg for mye tid i det lange løp.",
        "Uavhengige anmeldelser er nyttige å lese, fordi de gir en motvekt til det som blir lovet i reklamen.",
        "Små detaljer som leveringstid og returregler kan avgjøre hva man ender opp med å kjøpe.",
        "Den som planlegger i god tid, får som regel et bedre utvalg og trenger ikke å inngå så mange kompromisser.",
        "Bærekraft har blitt en avgjørende faktor for stadig flere forbrukere.",
        "Å snakke med noen som allerede har tatt det samme valget, er ofte den raskeste måten å lære på.",
    ],
    link_sentence: "Hvis du ønsker å se nærmere på hva som finnes, er {link} et godt sted å begynne.",
    trust_sentence: "Det bekreftes også av {link}, som mange viser til.",
    trust_text: "en fersk gjennomgang",
    meta: "En praktisk guide for lesere av {topic}: hva du bør sammenligne, spørre om og velge.",
};

const FI: Bank = Bank {
    titles: &[
        "Mitä sivuston {topic} lukijoiden kannattaa tietää tällä kaudella",
        "Käytännön opas sivuston {topic} lukijoille",
        "Näin valitset viisaasti: muistiinpanoja sivustolta {topic}",
    ],
    sentences: &[
        "Moni lukija aloittaa yksinkertaisesta kysymyksestä ja päätyy vertailemaan paljon useampia vaihtoehtoja kuin odotti.",
        "Parhaat päätökset syntyvät yleensä selkeästä käsityksestä siitä, mitä arjessa todella tarvitsee.",
        "Hinnat vaihtelevat paljon, joten kannattaa katsoa pidemmälle kuin ensimmäiseen vastaan tulevaan tarjoukseen.",
        "Kokeneet ostajat sanovat usein, että laatu näkyy vuosien eikä viikkojen kuluessa.",
        "Pienellä painettu teksti kannattaa lukea, sillä ehdot eroavat toisistaan enemmän kuin otsikot antavat ymmärtää.",
        "Myös paikalliset olosuhteet vaikuttavat, eikä yhdellä alueella toimiva ratkaisu välttämättä sovi toiselle.",
        "Lyhyt tarkistuslista pitää vertailun rehellisenä ja säästää aikaa pitkällä aikavälillä.",
        "Riippumattomat arvostelut tarjoavat hyödyllisen vastapainon mainonnan lupauksille.",
        "Pienet yksityiskohdat, kuten toimitusajat ja palautusehdot, voivat ratkaista valinnan.",
        "Ennakkoon suunnittelemalla saa yleensä paremman valikoiman ja joutuu tekemään vähemmän kompromisseja.",
        "Kestävyydestä on tullut ratkaiseva tekijä yhä useammalle kuluttajalle.",
        "Keskustelu samanlaisen valinnan jo tehneiden kanssa on usein nopein tapa oppia.",
    ],
    link_sentence: "Jos haluat tutustua vaihtoehtoihin tarkemmin, {link} on hyvä paikka aloittaa.",
    trust_sentence: "Saman vahvistaa myös {link}, johon moni viittaa.",
    trust_text: "tuore katsaus",
    meta: "Käytännön opas sivuston {topic} lukijoille: mitä vertailla, mitä kysyä ja miten valita hyvin.",
};

const NL: Bank = Bank {
    titles: &[
        "Wat lezers van {topic} dit seizoen moeten weten",
        "Een praktische gids voor lezers van {topic}",
        "Verstandig kiezen: aantekeningen van {topic}",
    ],
    sentences: &[
        "Veel lezers beginnen met een eenvoudige vraag en vergelijken uiteindelijk veel meer opties dan ze hadden verwacht.",
        "De beste beslissingen komen meestal voort uit een helder beeld van wat je in het dagelijks leven echt nodig hebt.",
        "De prijzen lopen sterk uiteen, dus het loont om verder te kijken dan het eerste aanbod dat je tegenkomt.",
        "Ervaren kopers zeggen vaak dat kwaliteit zich pas na jaren laat zien en niet na een paar weken.",
        "Het is de moeite waard om de kleine lettertjes te lezen, want de voorwaarden verschillen meer dan de koppen doen vermoeden.",
        "Ook de lokale omstandigheden spelen mee, en wat in de ene regio werkt, past niet altijd in een andere.",
        "Een korte checklist houdt de vergelijking eerlijk en bespaart op den duur tijd.",
        "Onafhankelijke recensies vormen een nuttig tegenwicht voor de beloften uit de reclame.",
        "Kleine details, zoals levertijden en retourvoorwaarden, kunnen de doorslag geven.",
        "Wie vooruit plant, heeft meestal een betere keuze en hoeft minder compromissen te sluiten.",
        "Duurzaamheid is voor een groeiend deel van de consumenten een beslissende factor geworden.",
        "Praten met mensen die dezelfde keuze al hebben gemaakt, is vaak de snelste manier om iets te leren.",
    ],
    link_sentence: "Wie de mogelijkheden beter wil bekijken, kan het best beginnen bij {link}.",
    trust_sentence: "Onderzoek dat in {link} wordt samengevat, wijst dezelfde kant op.",
    trust_text: "een recent overzicht",
    meta: "Een praktische gids voor lezers van {topic}: wat je vergelijkt, wat je vraagt en hoe je goed kiest.",
};

const FR: Bank = Bank {
    titles: &[
        "Ce que les lecteurs de {topic} doivent savoir cette saison",
        "Un guide pratique pour les lecteurs de {topic}",
        "Bien choisir : notes de {topic}",
    ],
    sentences: &[
        "Beaucoup de lecteurs partent d'une question simple et finissent par comparer bien plus d'options que prévu.",
        "Les meilleures décisions reposent souvent sur une idée claire de ce dont on a réellement besoin au quotidien.",
        "Les prix varient énormément, il vaut donc la peine de regarder au-delà de la première offre venue.",
        "Les acheteurs expérimentés disent souvent que la qualité se révèle au fil des années plutôt que des semaines.",
        "Mieux vaut lire les petits caractères, car les conditions diffèrent davantage que ne le laissent croire les gros titres.",
        "Le contexte local compte aussi, et ce qui fonctionne dans une région ne convient pas forcément à une autre.",
        "Une courte liste de contrôle garde la comparaison honnête et fait gagner du temps à long terme.",
        "Les avis indépendants offrent un contrepoids utile aux promesses de la publicité.",
        "De petits détails, comme les délais de livraison et les conditions de retour, peuvent faire pencher la balance.",
        "Anticiper permet généralement de profiter d'un meilleur choix et de faire moins de compromis.",
        "La durabilité est devenue un critère décisif pour une part croissante des consommateurs.",
        "Parler avec des personnes qui ont déjà fait le même choix est souvent le moyen le plus rapide d'apprendre.",
    ],
    link_sentence: "Pour examiner les options de plus près, {link} est un bon point de départ.",
    trust_sentence: "Les recherches résumées dans {link} vont dans le même sens.",
    trust_text: "une synthèse récente",
    meta: "Un guide pratique pour les lecteurs de {topic} : quoi comparer, quoi demander et comment bien choisir.",
};

const ES: Bank = Bank {
    titles: &[
        "Lo que los lectores de {topic} deben saber esta temporada",
        "Una guía práctica para los lectores de {topic}",
        "Cómo elegir bien: notas de {topic}",
    ],
    sentences: &[
        "Muchos lectores empiezan con una pregunta sencilla y acaban comparando muchas más opciones de las que esperaban.",
        "Las mejores decisiones suelen nacer de una idea clara de lo que realmente se necesita en el día a día.",
        "Los precios varían mucho, así que conviene mirar más allá de la primera oferta que uno encuentra.",
        "Los compradores con experiencia suelen decir que la calidad se demuestra con los años y no con las semanas.",
        "Vale la pena leer la letra pequeña, ya que las condiciones difieren más de lo que sugieren los titulares.",
        "El contexto local también importa, y lo que funciona en una región puede no servir en otra.",
        "Una breve lista de comprobación mantiene la comparación honesta y ahorra tiempo a largo plazo.",
        "Las reseñas independientes son un contrapeso útil frente a las promesas de la publicidad.",
        "Pequeños detalles, como los plazos de entrega y las políticas de devolución, pueden inclinar la balanza.",
        "Planificar con antelación suele traducirse en más disponibilidad y menos concesiones.",
        "La sostenibilidad se ha convertido en un factor decisivo para una parte creciente de los consumidores.",
        "Hablar con personas que ya han tomado la misma decisión suele ser la forma más rápida de aprender.",
    ],
    link_sentence: "Para ver las opciones con más detalle, {link} es un buen punto de partida.",
    trust_sentence: "La investigación resumida en {link} apunta en la misma dirección.",
    trust_text: "una revisión reciente",
    meta: "Una guía práctica para los lectores de {topic}: qué comparar, qué preguntar y cómo elegir bien.",
};

const PL: Bank = Bank {
    titles: &[
        "Co czytelnicy {topic} powinni wiedzieć w tym sezonie",
        "Praktyczny przewodnik dla czytelników {topic}",
        "Jak mądrze wybierać: notatki z {topic}",
    ],
    sentences: &[
        "Wielu czytelników zaczyna od prostego pytania, a kończy na porównywaniu znacznie większej liczby opcji, niż się spodziewało.",
        "Najlepsze decyzje zwykle wynikają z jasnego obrazu tego, czego naprawdę potrzebujemy na co dzień.",
        "Ceny bardzo się różnią, dlatego warto spojrzeć dalej niż na pierwszą ofertę, na jaką się trafi.",
        "Doświadczeni kupujący często mówią, że jakość widać po latach, a nie po tygodniach.",
        "Warto przeczytać drobny druk, ponieważ warunki różnią się bardziej, niż sugerują nagłówki.",
        "Liczą się też warunki lokalne, a to, co sprawdza się w jednym regionie, niekoniecznie pasuje do innego.",
        "Krótka lista kontrolna pomaga zachować uczciwość porównania i na dłuższą metę oszczędza czas.",
        "Niezależne recenzje stanowią przydatną przeciwwagę dla obietnic z reklam.",
        "Drobne szczegóły, takie jak czas dostawy i zasady zwrotów, mogą przechylić szalę.",
        "Planowanie z wyprzedzeniem zwykle oznacza lepszą dostępność i mniej kompromisów.",
        "Zrównoważony rozwój stał się decydującym czynnikiem dla rosnącej części konsumentów.",
        "Rozmowa z osobami, które dokonały już takiego samego wyboru, to często najszybszy sposób, by się czegoś dowiedzieć.",
    ],
    link_sentence: "Jeśli chcesz bliżej przyjrzeć się możliwościom, {link} to dobry punkt wyjścia.",
    trust_sentence: "Badania podsumowane w {link} wskazują na to samo.",
    trust_text: "najnowszym przeglądzie",
    meta: "Praktyczny przewodnik dla czytelników {topic}: co porównać, o co zapytać i jak dobrze wybrać.",
};

/// The bank for an ISO 639-1 code (`no` and `nn` read as Bokmål); English for anything else.
pub(crate) fn bank(language: Option<&str>) -> &'static Bank {
    match language {
        Some("sv") => &SV,
        Some("de") => &DE,
        Some("da") => &DA,
        Some("nb" | "no" | "nn") => &NB,
        Some("fi") => &FI,
        Some("nl") => &NL,
        Some("fr") => &FR,
        Some("es") => &ES,
        Some("pl") => &PL,
        _ => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::{Brief, compose};
    use whatlang::Lang;

    const LANGUAGES: &[(&str, Lang)] = &[
        ("en", Lang::Eng),
        ("sv", Lang::Swe),
        ("de", Lang::Deu),
        ("da", Lang::Dan),
        ("nb", Lang::Nob),
        ("no", Lang::Nob),
        ("nn", Lang::Nob),
        ("fi", Lang::Fin),
        ("nl", Lang::Nld),
        ("fr", Lang::Fra),
        ("es", Lang::Spa),
        ("pl", Lang::Pol),
    ];

    fn brief(code: &str) -> Brief {
        Brief {
            language: Some(code.to_owned()),
            anchor_text: Some("anchor".to_owned()),
            target_url: Some("https://client.example/page".to_owned()),
            publisher: Some("publisher.example".to_owned()),
            trust_candidates: vec!["https://source.example/report".to_owned()],
            ..Brief::default()
        }
    }

    #[test]
    fn every_language_is_detected_as_itself() {
        for &(code, lang) in LANGUAGES {
            for seed in ["seed", "another seed", "a third seed"] {
                let draft = compose(&brief(code), seed, 820);
                let body = draft.body();
                let info = whatlang::detect(&body).expect("detectable");
                assert_eq!(info.lang(), lang, "{code} with seed {seed:?}");
            }
            // Titles are too short to judge alone; with the meta description they should
            // not read as another language either.
            let bank = bank(Some(code));
            for title in bank.titles {
                let head =
                    format!("{title}. {}", bank.meta).replace("{topic}", "publisher.example");
                assert_eq!(whatlang::detect_lang(&head), Some(lang), "{code}: {head}");
            }
        }
    }

    /// Every text of every bank, placeholders filled.
    fn texts(bank: &Bank) -> Vec<String> {
        let mut texts: Vec<String> = bank
            .titles
            .iter()
            .chain(bank.sentences)
            .chain([&bank.link_sentence, &bank.trust_sentence, &bank.meta])
            .map(|s| s.replace("{topic}", "x").replace("{link}", bank.trust_text))
            .collect();
        texts.push(bank.trust_text.to_owned());
        texts
    }

    /// The worker's QC rejects these phrases (`worker/qc/banned/<lang>.txt`, English ones
    /// in every language): no bank may contain them.
    #[test]
    fn banks_avoid_the_workers_banned_phrases() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worker/qc/banned");
        let phrases = |code: &str| -> Vec<String> {
            std::fs::read_to_string(dir.join(format!("{code}.txt")))
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_lowercase)
                .collect()
        };
        let english = phrases("en");
        assert!(
            !english.is_empty(),
            "no banned phrases found in {}",
            dir.display()
        );
        for &(code, _) in LANGUAGES {
            let banned: Vec<String> = phrases(code).into_iter().chain(english.clone()).collect();
            for text in texts(bank(Some(code))) {
                let text = text.to_lowercase().replace('’', "'");
                for phrase in &banned {
                    assert!(
                        !text.contains(phrase.as_str()),
                        "{code}: {phrase:?} in {text:?}"
                    );
                }
            }
        }
    }
}
