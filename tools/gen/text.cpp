#include "gen/text.hpp"

#include <cstdio>
#include <ctime>

namespace nextcrm::gen {

namespace {

const char *const kFirst[4][8] = {
    {"Jiří", "Kateřina", "Tomáš", "Zuzana", "Lukáš", "Petra", "Jan", "Barbora"},
    {"John", "Emily", "Michael", "Sarah", "David", "Laura", "James", "Olivia"},
    {"Jürgen", "Anna", "Günther", "Sophie", "Lukas", "Jörg", "Maximilian", "Käthe"},
    {"Олександр", "Тетяна", "Дмитро", "Оксана", "Андрій", "Юлія", "Євген", "Ірина"},
};
const char *const kLast[4][8] = {
    {"Novák", "Dvořáková", "Procházka", "Černý", "Kučerová", "Růžička", "Šťastný", "Veselá"},
    {"Smith", "Johnson", "O'Brien", "Williams", "Brown", "Taylor", "Miller", "Davis"},
    {"Müller", "Schröder", "Weiß", "Groß", "Schäfer", "Köhler", "Bäcker", "Fuß"},
    {"Шевченко", "Коваленко", "Бондаренко", "Ткаченко", "Кравчук", "Мельник", "Олійник", "Їжак"},
};
const char *const kCompany[4][6] = {
    {"Stavby Říčany s.r.o.", "Pekárna U Zlatého klasu", "Účetnictví Novák a.s.",
     "Žluťoučký kůň spol. s r.o.", "Software Plzeň s.r.o.", "Dřevovýroba Hrubý"},
    {"Acme Corp", "Northwind Traders", "Blue Harbor Ltd", "Pinecrest Analytics", "Summit & Sons",
     "Redwood Logistics Inc."},
    {"Müller & Söhne GmbH", "Bäckerei Groß KG", "Straßenbau Köln AG", "Grünwald Immobilien",
     "Schäfer Logistik GmbH", "Weißbier Brauerei"},
    {"ТОВ Світанок", "ПП Коваленко і партнери", "ТОВ Київбуд", "Львівська кавова мануфактура",
     "ТОВ Дніпро-Агро", "ФОП Мельник"},
};
const char *const kCity[4][5] = {
    {"Praha", "Brno", "České Budějovice", "Plzeň", "Ústí nad Labem"},
    {"London", "New York", "Manchester", "Austin", "Dublin"},
    {"München", "Köln", "Düsseldorf", "Berlin", "Nürnberg"},
    {"Київ", "Львів", "Харків", "Одеса", "Дніпро"},
};
const char *const kStreet[4][4] = {
    {"Náměstí Míru", "Václavské náměstí", "Husova", "Žižkova"},
    {"Baker Street", "Main Street", "High Road", "Elm Avenue"},
    {"Königstraße", "Hauptstraße", "Müllerweg", "Schloßallee"},
    {"вулиця Хрещатик", "проспект Свободи", "вулиця Шевченка", "вулиця Франка"},
};
const char *const kPhrase[4][8] = {
    {"Zavolat zákazníkovi ohledně nabídky", "Připravit smlouvu k podpisu",
     "Schůzka v kanceláři v Brně", "Poslat fakturu účetní", "Ověřit údaje v obchodním rejstříku",
     "Zákazník žádá slevu 10 %", "Dodání se zpožďuje o týden",
     "Příliš žluťoučký kůň úpěl ďábelské ódy"},
    {"Follow up on the proposal", "Send the signed contract", "Schedule a demo next week",
     "Customer asked for a discount", "Update billing address", "Prepare quarterly report",
     "Call back after the holidays", "Review the renewal terms"},
    {"Angebot nachfassen", "Vertrag zur Unterschrift vorbereiten", "Termin im Büro in München",
     "Rechnung an die Buchhaltung schicken", "Kunde wünscht Rabatt für Großbestellung",
     "Lieferung verzögert sich", "Grüße an Herrn Müller ausrichten", "Übergabe der Schlüssel"},
    {"Зателефонувати клієнту щодо пропозиції", "Підготувати договір до підпису",
     "Зустріч в офісі у Києві", "Надіслати рахунок бухгалтеру", "Клієнт просить знижку",
     "Постачання затримується на тиждень", "Перевірити реквізити компанії", "Їжак з’їв ґудзик"},
};
const char *const kMailUser[] = {"jan.novak",       "k.dvorakova",   "john.smith",   "emily.j",
                                 "juergen.mueller", "anna.schaefer", "o.shevchenko", "t.kovalenko",
                                 "sales",           "info"};
const char *const kDomain[] = {"seznam.cz",   "gmail.com",   "web.de",   "ukr.net",
                               "example.com", "outlook.com", "firma.cz", "gmx.de"};

int li(Lang l) {
    return static_cast<int>(l);
}

} // namespace

Lang pick_lang(Rng &rng) {
    const std::uint64_t r = rng.below(100);
    return r < 40 ? Lang::Cz : r < 70 ? Lang::En : r < 85 ? Lang::De : Lang::Uk;
}

std::string first_name(Rng &rng, Lang lang) {
    return rng.pick(kFirst[li(lang)]);
}
std::string last_name(Rng &rng, Lang lang) {
    return rng.pick(kLast[li(lang)]);
}
std::string company(Rng &rng, Lang lang) {
    return rng.pick(kCompany[li(lang)]);
}
std::string city(Rng &rng, Lang lang) {
    return rng.pick(kCity[li(lang)]);
}
std::string street(Rng &rng, Lang lang) {
    return std::string(rng.pick(kStreet[li(lang)])) + " " + std::to_string(rng.range(1, 220));
}
std::string country(Lang lang) {
    static const char *const names[] = {"Česká republika", "United Kingdom", "Deutschland",
                                        "Україна"};
    return names[li(lang)];
}
std::string country_code(Lang lang) {
    static const char *const codes[] = {"CZ", "GB", "DE", "UA"};
    return codes[li(lang)];
}
std::string sentence(Rng &rng, Lang lang) {
    return rng.pick(kPhrase[li(lang)]);
}
std::string paragraph(Rng &rng, Lang lang) {
    std::string out = sentence(rng, lang);
    for (int i = rng.range(0, 3); i > 0; --i)
        out += ". " + sentence(rng, lang);
    return out + ".";
}
std::string title(Rng &rng, Lang lang) {
    std::string s = sentence(rng, lang);
    return rng.chance(0.3) ? s + " #" + std::to_string(rng.range(1, 999)) : s;
}

std::string email(Rng &rng, std::uint64_t salt) {
    return std::string(rng.pick(kMailUser)) + "." + std::to_string(salt) + "@" + rng.pick(kDomain);
}

std::string odd_email(Rng &rng) {
    switch (rng.below(7)) {
    case 0:
        return "  John.Smith@Example.COM ";
    case 1:
        return "jan.novak(at)seznam.cz";
    case 2:
        return "mailto:info@firma.cz";
    case 3:
        return "Олег <oleg@ukr.net>";
    case 4:
        return "müller@straße.de";
    case 5:
        return "no-email";
    default:
        return "sales@@example.com";
    }
}

std::string phone(Rng &rng, Lang lang) {
    static const char *const prefixes[] = {"+420 ", "+44 ", "+49 ", "+380 "};
    std::string p = rng.chance(0.2) ? "" : prefixes[li(lang)];
    return p + digits(rng, 3) + " " + digits(rng, 3) + " " + digits(rng, 3);
}

std::string url(Rng &rng) {
    return "https://" + token(rng, "abcdefghijklmnopqrstuvwxyz", 8) + "." + rng.pick(kDomain) +
           "/" + token(rng, "abcdefghijklmnopqrstuvwxyz0123456789", 10);
}

std::string digits(Rng &rng, int n) {
    return token(rng, "0123456789", n);
}

std::string token(Rng &rng, const char *alphabet, int n) {
    std::size_t len = 0;
    while (alphabet[len])
        ++len;
    std::string out(static_cast<std::size_t>(n), ' ');
    for (char &c : out)
        c = alphabet[rng.below(len)];
    return out;
}

std::string bcrypt_hash(Rng &rng) {
    return "$2a$12$" +
           token(rng, "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 53);
}

std::string iso_time(std::int64_t ms) {
    std::time_t s = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return buf;
}

std::string iso_date(std::int64_t ms) {
    return iso_time(ms).substr(0, 10);
}

} // namespace nextcrm::gen
