"""Mail bodies for the content-detection tests: lab reports sent as the text of a mail, and letters
that must never be taken for one.  Every patient, doctor and lab here is invented.

The HPRIM bodies follow the layout Apicrypt and HPRIM Net labs send (the 12-line
header at the top of the body, then free text and/or the ****LAB**** block,
then ****FIN**** and ****FINFICHIER****), as MedShakeEHR and Mediboard read it;
the letters are what a practice's inbox holds besides: referral letters,
replies quoting results, forwarded mails, signatures.
"""
from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.policy import SMTP

HEADER = ["BIOLOGIE", "FICTIF", "Zoé", "12 rue des Essais", "", "00100 VILLE-FICTIVE", "12/04/1965",
          "265040012345678", "R240301", "04/03/2024", "LABM-ESTUAIRE", "10000000001"]
LAB = ["****LAB****",
       "RES|Potassium|K|N|6,8|mmol/l|3,5|5,0|HH|F|",
       "RES|Sodium|NA|N|139|mmol/l|136|145||F|",
       "RES|Créatinine|CREA|N|180|µmol/l|60|110|H|F|",
       "****FINLAB****"]
TEXT = ["Laboratoire de l'Estuaire - Biologie médicale", "Compte rendu validé par le biologiste."]
END = ["****FIN****", "****FINFICHIER****"]


def hprim_body(header=HEADER, text=TEXT, lab=LAB, end=END, *, blank_13th: bool = False) -> list[str]:
    return list(header) + ([""] if blank_13th else []) + list(text) + list(lab) + list(end)


def encode(lines: list[str], encoding: str = "iso-8859-1", newline: str = "\r\n") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


HL7_BODY = ("MSH|^~\\&|LABO|LABM-ESTUAIRE|PLI|CABINET|202403041012||ORU^R01|MSG0001|P|2.5|||||FRA|UNICODE UTF-8\r"
            "PID|1||PAT123^^^LABM-ESTUAIRE^PI||FICTIF^Zoé||19650412|F\r"
            "OBR|1||R240301|24326-1^Electrolytes^LN|||202403040800\r"
            "OBX|1|NM|2823-3^Potassium^LN||6.8|mmol/L|3.5-5.0|HH|||F\r"
            "OBX|2|NM|2951-2^Sodium^LN||139|mmol/L|136-145|N|||F\r").encode("utf-8")


def mail(body: bytes | str, *, subject: str = "Résultats", content_type: str = "text/plain",
         charset: str | None = None, filename: str | None = None, attachments=()) -> bytes:
    """A plain MIME message whose text body is `body` (bytes kept as they are, with a charset)."""
    message = EmailMessage(policy=SMTP)
    message["From"] = "Laboratoire Fictif <labo@example.org>"
    message["To"] = "dr.martin@example.org"
    message["Subject"] = subject
    digest = hashlib.sha256(subject.encode() + (body if isinstance(body, bytes) else body.encode())).hexdigest()
    message["Message-ID"] = f"<{digest[:24]}@example.org>"
    maintype, subtype = content_type.split("/")
    data = body.encode(charset or "utf-8") if isinstance(body, str) else body
    params = {"filename": filename} if filename else {}
    if maintype == "text":
        message.set_content(data, maintype=maintype, subtype=subtype, cte="quoted-printable", **params)
        message.set_param("charset", charset or "utf-8")
    else:
        message.set_content(data, maintype=maintype, subtype=subtype, **params)
    for data, name in attachments:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


# -- letters: none of them is a lab report -------------------------------------------------------

REFERRAL = """Dr Jean MARTIN
Cardiologie
Hôpital Fictif
1 rue de l'Exemple
00100 VILLE-FICTIVE

Le 12/03/2024

Objet : Mme FICTIF Zoé, née le 12/04/1965

Cher confrère,

Je vous remercie de m'avoir adressé votre patiente pour bilan d'une dyspnée.
La kaliémie du 04/03/2024 était à 6,8 mmol/l (contrôle souhaitable).

Bien confraternellement,
Dr Jean MARTIN
"""

REPLY_QUOTING = """Merci, bien reçu. Je rappelle la patiente.

Le 04/03/2024 à 10:12, Laboratoire Fictif a écrit :
> BIOLOGIE
> FICTIF
> Zoé
> 12 rue des Essais
>
> 00100 VILLE-FICTIVE
> 12/04/1965
> 265040012345678
> R240301
> 04/03/2024
> LABM-ESTUAIRE
> 10000000001
> ****LAB****
> RES|Potassium|K|N|6,8|mmol/l|3,5|5,0|HH|F|
> ****FINLAB****
> ****FIN****
"""

FORWARDED = """---------- Message transféré ---------
De : Laboratoire Fictif <labo@example.org>
Date : lun. 4 mars 2024 à 10:12
Objet : Résultats FICTIF Zoé
À : <dr.martin@example.org>

BIOLOGIE
FICTIF
Zoé
12 rue des Essais

00100 VILLE-FICTIVE
12/04/1965
265040012345678
R240301
04/03/2024
LABM-ESTUAIRE
10000000001
****LAB****
RES|Potassium|K|N|6,8|mmol/l|3,5|5,0|HH|F|
****FINLAB****
****FIN****
"""

OUTLOOK_REPLY = """Bonjour,
voir ci-dessous, merci de rappeler le laboratoire.

-----Message d'origine-----
De : Laboratoire Fictif
Envoyé : lundi 4 mars 2024 10:12
À : Dr Martin
Objet : Résultats

****LAB****
RES|Potassium|K|N|6,8|mmol/l|3,5|5,0|HH|F|
****FIN****
"""

# A 12-line signature on top of a mail whose text is only that (a file sent without a word).
SIGNATURE = """--
Dr Claire MARTIN
Médecin généraliste
Cabinet des Tilleuls
3 place de l'Essai
00100 VILLE-FICTIVE

Tél. 01 00 00 00 00
RPPS 10000000001

Consultations sur rendez-vous
du lundi au vendredi
"""

# The same, with blank lines where a header has its dates: still no date, still no report.
SIGNATURE_BLANKS = """Dr Claire MARTIN
MARTIN
Claire
Cabinet des Tilleuls
3 place de l'Essai
00100 VILLE-FICTIVE

Médecin généraliste

Consultations sur rendez-vous
du lundi au vendredi
Merci de ne pas répondre à ce message
"""

# A secretary's note: names and dates, but a sentence on the name line and dates inside sentences.
APPOINTMENTS = """Rendez-vous de la semaine
Mme FICTIF, à rappeler
Zoé
12 rue des Essais

00100 VILLE-FICTIVE
née le 12/04/1965
dossier 2650400
R240301
vu le 04/03/2024
LABM-ESTUAIRE
10000000001
****FIN****
"""

SHORT_NOTE = "Bonjour,\n\nVeuillez trouver ci-joint les résultats de FICTIF Zoé.\n\nLaboratoire Fictif\n"

# Dates on lines 7 and 10, a name on line 2, but long lines: a paragraph of a letter, not a header.
LONG_LINES = """Compte rendu de consultation
MARTIN
Claire
Je vous adresse ce jour Mme FICTIF pour avis concernant une hyperkaliémie découverte fortuitement lors d'un bilan systématique.
Elle ne prend aucun traitement néphrotoxique.

Le bilan est joint.
12/04/1965
Sans antécédent particulier.

04/03/2024
Bien confraternellement,
"""

LETTERS = {"referral": REFERRAL, "reply quoting a report": REPLY_QUOTING, "forwarded inline": FORWARDED,
           "outlook reply": OUTLOOK_REPLY, "signature": SIGNATURE, "signature with blank lines": SIGNATURE_BLANKS,
           "appointments": APPOINTMENTS, "short note": SHORT_NOTE, "long lines": LONG_LINES}


# -- reports pli cannot read wholly, sent as the body -------------------------------------------

#: Bytes of junk pasted in the LAB block: too many control characters for a text; nothing is read.
UNREADABLE = encode(hprim_body()).replace(b"RES|Sodium", b"\x01\x02\x03\x04" * 40 + b"RES|Sodium")
#: The mail was cut inside a result line: what comes before is read, the report marked incomplete.
TRUNCATED = encode(hprim_body(lab=LAB[:2] + ["RES|Sodium|NA|N|13"], end=[]))[:-2]
#: No ****FIN****, and another patient named without a full header before more results: those
#: results belong to nobody for sure (patient uncertain), the first report's stay FICTIF Zoé's.
UNCERTAIN = encode(hprim_body(lab=LAB[:-1], end=[]) + ["AUTRE", "Paul", "01/01/1950",
                                                       "RES|Sodium|NA|N|150|mmol/l|136|145|H|F|", "****FIN****"])
