"""Customer lists as spreadsheets on Windows save them in 33 languages, each in its system's code page (Romanian with
the cedilla letters Windows-1250 has): `csv_text(language, rows)` and `WORDS[language][0]`, its code page."""

from __future__ import annotations

WORDS = {
    # Western Europe: Windows-1252
    "de": (
        "cp1252",
        ["Kunde", "Straße", "Ort", "Betrag"],
        [
            ["Jürgen Müller", "Hauptstraße 5", "München", "1.234,50"],
            ["Grete Schön", "Königsallee 12", "Düsseldorf", "87,00"],
            ["Björn Weiß", "Am Bäckerweg 3", "Köln", "12,75"],
        ],
    ),
    "fr": (
        "cp1252",
        ["client", "adresse", "ville", "montant"],
        [
            ["Hélène Dupré", "12 rue de l'Église", "Besançon", "1 234,50"],
            ["François Lefèvre", "3 place du Marché", "Orléans", "87,00"],
            ["Zoé Bélanger", "5 allée des Châtaigniers", "Nîmes", "12,75"],
        ],
    ),
    "es": (
        "cp1252",
        ["cliente", "dirección", "ciudad", "importe"],
        [
            ["José Peña", "Calle Mayor 5", "La Coruña", "1.234,50"],
            ["María Núñez", "Avenida de la Constitución 12", "Málaga", "87,00"],
            ["Iñigo Sáez", "Plaza España 3", "Cádiz", "12,75"],
        ],
    ),
    "it": (
        "cp1252",
        ["cliente", "indirizzo", "città", "importo"],
        [
            ["Niccolò Rossi", "Via Garibaldi 5", "Forlì", "1.234,50"],
            ["Lucía Bianchi", "Piazza Unità 12", "Cantù", "87,00"],
            ["Mattéo Ferrari", "Corso Italia 3", "Rivà", "12,75"],
        ],
    ),
    "pt": (
        "cp1252",
        ["cliente", "endereço", "cidade", "valor"],
        [
            ["João Gonçalves", "Rua da Conceição 5", "São Paulo", "1.234,50"],
            ["Inês Magalhães", "Avenida da Liberdade 12", "Guimarães", "87,00"],
            ["Antônio Simões", "Praça do Comércio 3", "Maceió", "12,75"],
        ],
    ),
    "nl": (
        "cp1252",
        ["klant", "adres", "plaats", "bedrag"],
        [
            ["Jeroen de Vries", "Kerkstraat 5", "Den Haag", "1.234,50"],
            ["Anouk Jansen", "Coöperatieweg 12", "Eindhoven", "87,00"],
            ["Chloë Bakker", "Rijnkade 3", "Zoë's Hoeve", "12,75"],
        ],
    ),
    "sv": (
        "cp1252",
        ["kund", "adress", "ort", "belopp"],
        [
            ["Åsa Lindström", "Storgatan 5", "Göteborg", "1 234,50"],
            ["Björn Öberg", "Kungsvägen 12", "Malmö", "87,00"],
            ["Märta Ågren", "Skolgränd 3", "Västerås", "12,75"],
        ],
    ),
    "da": (
        "cp1252",
        ["kunde", "adresse", "by", "beløb"],
        [
            ["Søren Jørgensen", "Østergade 5", "Århus", "1.234,50"],
            ["Mette Sørensen", "Nørrebrogade 12", "København", "87,00"],
            ["Ærø Hansen", "Bøgevej 3", "Ålborg", "12,75"],
        ],
    ),
    "no": (
        "cp1252",
        ["kunde", "adresse", "sted", "beløp"],
        [
            ["Øystein Bråten", "Storgata 5", "Tromsø", "1 234,50"],
            ["Åse Kjær", "Kongens gate 12", "Bodø", "87,00"],
            ["Håkon Sæther", "Skolevei 3", "Ålesund", "12,75"],
        ],
    ),
    "fi": (
        "cp1252",
        ["asiakas", "osoite", "kaupunki", "summa"],
        [
            ["Jääskeläinen Päivi", "Hämeenkatu 5", "Hämeenlinna", "1 234,50"],
            ["Mäkelä Jyrki", "Pääskyläntie 12", "Jyväskylä", "87,00"],
            ["Söderström Åke", "Kylätie 3", "Pietarsaari", "12,75"],
        ],
    ),
    "is": (
        "cp1252",
        ["viðskiptavinur", "heimilisfang", "bær", "upphæð"],
        [
            ["Guðrún Þórsdóttir", "Aðalstræti 5", "Reykjavík", "1.234,50"],
            ["Jón Ólafsson", "Hafnarstræti 12", "Akureyri", "87,00"],
            ["Sigríður Þórðardóttir", "Laugavegur 3", "Ísafjörður", "12,75"],
        ],
    ),
    "ca": (
        "cp1252",
        ["client", "adreça", "ciutat", "import"],
        [
            ["Jordi Puigdollers", "Carrer Major 5", "Lleida", "1.234,50"],
            ["Núria Ferrà", "Plaça de la Vila 12", "Girona", "87,00"],
            ["Martí Català", "Passeig de Gràcia 3", "Sabadell", "12,75"],
        ],
    ),
    # Central Europe: Windows-1250
    "pl": (
        "cp1250",
        ["klient", "adres", "miasto", "kwota"],
        [
            ["Łukasz Wójcik", "ul. Źródlana 5", "Łódź", "1 234,50"],
            ["Małgorzata Zając", "ul. Świętokrzyska 12", "Kraków", "87,00"],
            ["Grzegorz Żółkiewski", "ul. Długa 3", "Gdańsk", "12,75"],
        ],
    ),
    "cs": (
        "cp1250",
        ["zákazník", "adresa", "město", "částka"],
        [
            ["Jiří Dvořák", "Náměstí Míru 5", "Příbram", "1 234,50"],
            ["Kateřina Svobodová", "Štěpánská 12", "Ústí nad Labem", "87,00"],
            ["Tomáš Černý", "Žižkova 3", "Brno", "12,75"],
        ],
    ),
    "sk": (
        "cp1250",
        ["zákazník", "adresa", "mesto", "suma"],
        [
            ["Ľubomír Šťastný", "Námestie SNP 5", "Banská Bystrica", "1 234,50"],
            ["Zuzana Ďuríková", "Štúrova 12", "Košice", "87,00"],
            ["Ján Kováč", "Hlavná 3", "Žilina", "12,75"],
        ],
    ),
    "hu": (
        "cp1250",
        ["ügyfél", "cím", "város", "összeg"],
        [
            ["Kovács Ödön", "Fő utca 5", "Győr", "1 234,50"],
            ["Szőke Erzsébet", "Kossuth tér 12", "Pécs", "87,00"],
            ["Nagy Gergő", "Bartók Béla út 3", "Szeged", "12,75"],
        ],
    ),
    "ro": (
        "cp1250",
        ["client", "adresă", "oraş", "sumă"],
        [
            ["Ştefan Popescu", "Strada Mărăşeşti 5", "Braşov", "1.234,50"],
            ["Ioana Ţăranu", "Bulevardul Unirii 12", "Timişoara", "87,00"],
            ["Andrei Căpraru", "Piaţa Sfatului 3", "Iaşi", "12,75"],
        ],
    ),
    "hr": (
        "cp1250",
        ["kupac", "adresa", "grad", "iznos"],
        [
            ["Ivan Horvatić", "Ilica 5", "Zagreb", "1.234,50"],
            ["Željka Kovačević", "Šetalište 12", "Đakovo", "87,00"],
            ["Marko Babić", "Čakovečka 3", "Osijek", "12,75"],
        ],
    ),
    "sl": (
        "cp1250",
        ["stranka", "naslov", "kraj", "znesek"],
        [
            ["Tomaž Žagar", "Čopova 5", "Ljubljana", "1.234,50"],
            ["Špela Kovač", "Šmartinska 12", "Maribor", "87,00"],
            ["Matjaž Čuk", "Prešernova 3", "Kranj", "12,75"],
        ],
    ),
    # Cyrillic: Windows-1251
    "ru": (
        "cp1251",
        ["клиент", "адрес", "город", "сумма"],
        [
            ["Иванов Пётр", "ул. Ленина 5", "Москва", "1 234,50"],
            ["Смирнова Анна", "пр. Мира 12", "Санкт-Петербург", "87,00"],
            ["Кузнецов Илья", "ул. Садовая 3", "Новосибирск", "12,75"],
        ],
    ),
    "uk": (
        "cp1251",
        ["клієнт", "адреса", "місто", "сума"],
        [
            ["Шевченко Тарас", "вул. Хрещатик 5", "Київ", "1 234,50"],
            ["Коваленко Олена", "вул. Соборна 12", "Львів", "87,00"],
            ["Бондаренко Їжак", "пр. Гагаріна 3", "Дніпро", "12,75"],
        ],
    ),
    "bg": (
        "cp1251",
        ["клиент", "адрес", "град", "сума"],
        [
            ["Иван Петров", "ул. Витоша 5", "София", "1 234,50"],
            ["Мария Георгиева", "бул. България 12", "Пловдив", "87,00"],
            ["Стоян Тодоров", "ул. Шипка 3", "Варна", "12,75"],
        ],
    ),
    # Other Windows code pages
    "el": (
        "cp1253",
        ["πελάτης", "διεύθυνση", "πόλη", "ποσό"],
        [
            ["Γιώργος Παπαδόπουλος", "Οδός Ερμού 5", "Αθήνα", "1.234,50"],
            ["Μαρία Νικολάου", "Λεωφόρος Κηφισίας 12", "Θεσσαλονίκη", "87,00"],
            ["Νίκος Δημητρίου", "Οδός Αγίου 3", "Πάτρα", "12,75"],
        ],
    ),
    "tr": (
        "cp1254",
        ["müşteri", "adres", "şehir", "tutar"],
        [
            ["Ayşe Yılmaz", "İstiklal Caddesi 5", "İstanbul", "1.234,50"],
            ["Mehmet Öztürk", "Atatürk Bulvarı 12", "Ankara", "87,00"],
            ["Gülşen Çelik", "Kızılay Sokağı 3", "İzmir", "12,75"],
        ],
    ),
    "he": (
        "cp1255",
        ["לקוח", "כתובת", "עיר", "סכום"],
        [
            ["משה כהן", "רחוב הרצל 5", "תל אביב", "1,234.50"],
            ["שרה לוי", "שדרות רוטשילד 12", "ירושלים", "87.00"],
            ["דוד מזרחי", "רחוב יפו 3", "חיפה", "12.75"],
        ],
    ),
    "ar": (
        "cp1256",
        ["العميل", "العنوان", "المدينة", "المبلغ"],
        [
            ["محمد أحمد", "شارع الملك 5", "الرياض", "1,234.50"],
            ["فاطمة علي", "شارع النيل 12", "القاهرة", "87.00"],
            ["يوسف حسن", "شارع الحمراء 3", "بيروت", "12.75"],
        ],
    ),
    "lt": (
        "cp1257",
        ["klientas", "adresas", "miestas", "suma"],
        [
            ["Jonas Žukauskas", "Gedimino pr. 5", "Vilnius", "1 234,50"],
            ["Rūta Šimkutė", "Laisvės al. 12", "Kaunas", "87,00"],
            ["Ąžuolas Čepulis", "Tiltų g. 3", "Klaipėda", "12,75"],
        ],
    ),
    "lv": (
        "cp1257",
        ["klients", "adrese", "pilsēta", "summa"],
        [
            ["Jānis Bērziņš", "Brīvības iela 5", "Rīga", "1 234,50"],
            ["Līga Ozoliņa", "Rūpniecības iela 12", "Daugavpils", "87,00"],
            ["Kārlis Ķēniņš", "Ģertrūdes iela 3", "Liepāja", "12,75"],
        ],
    ),
    "th": (
        "cp874",
        ["ลูกค้า", "ที่อยู่", "เมือง", "จำนวน"],
        [
            ["สมชาย ใจดี", "ถนนสุขุมวิท 5", "กรุงเทพ", "1,234.50"],
            ["สมหญิง รักไทย", "ถนนสีลม 12", "เชียงใหม่", "87.00"],
            ["วิชัย มั่นคง", "ถนนพหลโยธิน 3", "ภูเก็ต", "12.75"],
        ],
    ),
    "ja": (
        "cp932",
        ["顧客", "住所", "都市", "金額"],
        [
            ["山田太郎", "千代田区丸の内5", "東京", "1234"],
            ["佐藤花子", "中央区銀座12", "大阪", "87"],
            ["鈴木一郎", "北区梅田3", "名古屋", "12"],
        ],
    ),
    "zh": (
        "gb18030",
        ["客户", "地址", "城市", "金额"],
        [
            ["张伟", "中山路5号", "北京", "1234.50"],
            ["王芳", "人民大道12号", "上海", "87.00"],
            ["李娜", "解放路3号", "广州", "12.75"],
        ],
    ),
    "zh-tw": (
        "big5",
        ["客戶", "地址", "城市", "金額"],
        [
            ["陳大文", "中山路5號", "台北", "1234.50"],
            ["林美玲", "民生路12號", "高雄", "87.00"],
            ["黃志明", "中正路3號", "台中", "12.75"],
        ],
    ),
    "ko": (
        "cp949",
        ["고객", "주소", "도시", "금액"],
        [
            ["김민수", "세종대로 5", "서울", "1234"],
            ["이영희", "해운대로 12", "부산", "87"],
            ["박지훈", "중앙로 3", "대구", "12"],
        ],
    ),
}


def csv_text(language: str, rows: int = 30) -> str:
    """LANGUAGE's customers as a `;` CSV of ROWS rows, lines ended as Windows ends them."""
    _, header, people = WORDS[language]
    lines = [";".join(header)] + [";".join(people[i % len(people)]) for i in range(rows)]
    return "\r\n".join(lines) + "\r\n"
